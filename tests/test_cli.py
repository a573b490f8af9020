"""The `paygraph` command as a user runs it: schema, token, and dev's start and clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from infra.embedded import free_port

REPO = Path(__file__).resolve().parent.parent
PAYGRAPH = [sys.executable, "-m", "cli"]


def run(args, env=None, cwd=None, timeout=60):
    return subprocess.run(
        PAYGRAPH + args, capture_output=True, text=True, env=env, cwd=cwd or REPO, timeout=timeout
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGODB_", "REDIS_", "JWT_", "APP_ENV"))
    }
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


class TestSchemaCommand:
    def test_prints_the_committed_sdl(self):
        result = run(["schema"])
        assert result.returncode == 0, result.stderr
        assert result.stdout == (REPO / "schema.graphql").read_text(), (
            "schema.graphql is stale: run `make schema` and commit it"
        )


class TestTokenCommand:
    def test_mints_a_token_the_api_accepts(self, tokens, tmp_path):
        from tests.conftest import TEST_JWT_SECRET

        result = run(
            ["token", "--customer", "cust-7", "--admin"],
            env=clean_env(JWT_SECRET=TEST_JWT_SECRET),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        principal = tokens.verify(result.stdout.strip())
        assert principal.customer_id == "cust-7" and principal.is_admin

    def test_refuses_in_production(self, tmp_path):
        result = run(
            ["token", "--customer", "c"],
            env=clean_env(APP_ENV="production", JWT_SECRET="x" * 40),
            cwd=tmp_path,
        )
        assert result.returncode != 0
        assert "production" in result.stderr
        assert result.stdout == ""

    def test_invalid_configuration_names_the_variable(self, tmp_path):
        result = run(
            ["token", "--customer", "c"],
            env=clean_env(PAYMENT_MAX_ATTEMPTS="lots", JWT_SECRET="x" * 40),
            cwd=tmp_path,
        )
        assert result.returncode == 2
        assert "PAYMENT_MAX_ATTEMPTS" in result.stderr


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.timeout(180)
class TestDevCommand:
    @pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
    def test_starts_everything_and_leaves_no_child_behind(self, tmp_path, stop_signal):
        port = free_port()
        env = clean_env(PORT=str(port))
        process = subprocess.Popen(
            [*PAYGRAPH, "dev"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        children: list[psutil.Process] = []
        try:
            deadline = time.monotonic() + 90
            ready = None
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                    if ready.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            assert ready is not None and ready.status_code == 200, "dev did not become ready"
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            children = _descendants(process.pid)
            names = " ".join(" ".join(c.cmdline()) for c in children)
            assert "secantusd" in names and "redis-server" in names and "worker" in names
            assert (tmp_path / ".paygraph" / "dev.env").exists()
            assert (tmp_path / ".paygraph" / "data").is_dir()
            process.send_signal(stop_signal)
            output, _ = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert "GraphiQL:" in output and "customer token" in output
        _, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"orphans left behind: {[p.pid for p in alive]}"
        assert not (tmp_path / ".paygraph" / "dev.env").exists()

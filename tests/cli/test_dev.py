"""`paygraph dev` as a user runs it: everything starts, the worker completes a payment from the
sandbox's webhooks alone, and SIGINT or SIGTERM leaves no child process behind."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import psutil
import pytest

from infra.embedded import free_port
from tests.support.cli import PAYGRAPH, clean_env, run


def _webhook_alone_completes_a_payment(port: int, cwd: Path, env: dict[str, str]) -> None:
    """Beside a running dev: a token from `paygraph token`, a payment paid in the sandbox and
    never verified is completed by the dev's own worker from the sandbox's webhooks."""
    minted = run(["token", "--customer", "dev-flow"], env=env, cwd=cwd)
    assert minted.returncode == 0, minted.stderr
    headers = {"Authorization": f"Bearer {minted.stdout.strip()}"}
    base = f"http://127.0.0.1:{port}"
    initiate = """mutation { initiatePayment(input: {orderId: "DEV-1", amount: "99.00"}) {
        ... on InitiatePaymentSuccess { payment { id } checkout { gatewayOrderId } } } }"""
    result = httpx.post(
        f"{base}/graphql", json={"query": initiate}, headers=headers, timeout=30
    ).json()
    initiated = result["data"]["initiatePayment"]
    order = initiated["checkout"]["gatewayOrderId"]
    paid = httpx.post(
        f"{base}/sandbox/razorpay/checkout/{order}/pay",
        json={"method": "card", "card_number": "4100280000001007"},
        timeout=30,
    )
    assert paid.status_code == 200, paid.text
    query = {
        "query": "query($id: ID!) { payment(id: $id) { status } }",
        "variables": {"id": initiated["payment"]["id"]},
    }
    deadline = time.monotonic() + 45
    status = None
    while time.monotonic() < deadline:
        status = httpx.post(f"{base}/graphql", json=query, headers=headers, timeout=10).json()[
            "data"
        ]["payment"]["status"]
        if status == "COMPLETED":
            return
        time.sleep(0.5)
    raise AssertionError(f"the dev worker did not complete the payment (last status {status})")


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
            if stop_signal is signal.SIGINT:
                _webhook_alone_completes_a_payment(port, tmp_path, env)
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

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


@pytest.mark.timeout(90)
class TestSandboxCommand:
    def test_serves_both_sandboxes_for_the_razorpay_sdk_and_paypal_oauth(self, tmp_path):
        import razorpay

        port = free_port()
        env = clean_env(
            RAZORPAY_KEY_ID="rzp_test_cli000001",
            RAZORPAY_KEY_SECRET="cli-secret",
            PAYPAL_CLIENT_ID="cli-paypal",
            PAYPAL_CLIENT_SECRET="cli-paypal-secret",
        )
        process = subprocess.Popen(
            [*PAYGRAPH, "sandbox", "--port", str(port)], cwd=tmp_path, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{base}/sandbox/razorpay/_control", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            client = razorpay.Client(
                auth=("rzp_test_cli000001", "cli-secret"), base_url=f"{base}/sandbox/razorpay"
            )
            order = client.order.create({"amount": 50000, "currency": "INR", "receipt": "cli-1"})
            assert order["id"].startswith("order_") and order["amount"] == 50000
            token = httpx.post(
                f"{base}/sandbox/paypal/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=("cli-paypal", "cli-paypal-secret"),
            )
            assert token.status_code == 200 and token.json()["access_token"]
        finally:
            process.terminate()
            process.wait(timeout=20)

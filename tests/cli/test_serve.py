"""`paygraph sandbox` serves both sandboxes; `paygraph worker` becomes the worker process."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import psutil
import pytest
from redis import Redis

from infra.embedded import free_port
from services.health import HEARTBEAT_KEY
from tests.conftest import TEST_DB
from tests.support.cli import PAYGRAPH, clean_env, run


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


@pytest.mark.timeout(90)
class TestWorkerCommand:
    def test_a_bad_configuration_is_refused_naming_the_variable(self, tmp_path):
        result = run(["worker"], env=clean_env(PAYMENT_MAX_ATTEMPTS="lots"), cwd=tmp_path)
        assert result.returncode == 2
        assert "PAYMENT_MAX_ATTEMPTS" in result.stderr

    def test_becomes_the_worker_process_and_stops_on_sigterm(self, settings, tmp_path):
        env = clean_env(
            APP_ENV="test",
            MONGODB_URL=settings.mongodb_url,
            MONGODB_DB=TEST_DB,
            REDIS_URL=settings.redis_url,
            JWT_SECRET=settings.jwt_secret,
        )
        redis = Redis.from_url(settings.redis_url)
        redis.delete(HEARTBEAT_KEY)
        process = subprocess.Popen(
            [*PAYGRAPH, "worker"], cwd=tmp_path, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while redis.get(HEARTBEAT_KEY) is None and time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()[1]
                time.sleep(0.2)
            assert redis.get(HEARTBEAT_KEY) is not None, "the worker never ran its heartbeat"
            # The same process, now the worker itself: a supervisor's signals reach it.
            assert psutil.Process(process.pid).cmdline()[1:] == ["-m", "workers"]
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=60)
        finally:
            redis.close()
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, err
        assert "worker started" in err
        assert "→ cron:heartbeat" not in err  # the routine cron's lines are quiet

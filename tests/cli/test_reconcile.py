"""`paygraph reconcile` as an operator runs it: against the suite's database and sandboxes, and
beside a running `paygraph dev` (which it finds through .paygraph/dev.env)."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import subprocess
import sys
import time

import httpx
import pytest
from rich.console import Console

from cli.reconcile import RunProgress, console_for
from infra.embedded import free_port
from models.enums import PaymentStatus
from models.payment import Payment
from models.reconciliation import ReconciliationReport
from services.alerts import DEDUPE_PREFIX, RECONCILIATION_ISSUE
from tests.conftest import TEST_DB
from tests.support.cli import PAYGRAPH, clean_env
from tests.support.reconciliation import (  # noqa: F401
    age,
    paid_without_verify,
    razorpay,
    shopper,
    verified,
)


def suite_env(settings, app_server) -> dict[str, str]:
    return clean_env(
        APP_ENV="test",
        MONGODB_URL=settings.mongodb_url,
        MONGODB_DB=TEST_DB,
        REDIS_URL=settings.redis_url,
        RAZORPAY_KEY_ID=settings.razorpay_key_id,
        RAZORPAY_KEY_SECRET=settings.razorpay_key_secret,
        RAZORPAY_API_URL=f"{app_server.url}/sandbox/razorpay",
        PAYPAL_CLIENT_ID=settings.paypal_client_id,
        PAYPAL_CLIENT_SECRET=settings.paypal_client_secret,
        PAYPAL_API_URL=f"{app_server.url}/sandbox/paypal",
    )


async def reconcile(*args: str, env: dict[str, str], cwd) -> tuple[int, str, str]:
    # Not subprocess.run: the sandboxes it calls are served by this test's event loop.
    process = await asyncio.create_subprocess_exec(
        *PAYGRAPH, "reconcile", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class TestReconcileCommand:
    async def test_dry_run_prints_a_readable_summary_and_changes_nothing(
        self,
        settings,
        app_server,
        shopper,
        tmp_path,
    ):
        pid, paid = await paid_without_verify(shopper)
        await age(pid, 10)
        env = suite_env(settings, app_server)

        code, out, err = await reconcile("--dry-run", env=env, cwd=tmp_path)

        assert code == 0, err
        assert "DRY RUN - nothing was changed" in out
        assert re.search(r"^ *recovered \(-> COMPLETED\) +1 *$", out, re.MULTILINE)
        assert "Fixes (would apply):" in out
        row = next(line for line in out.splitlines() if line.strip().startswith("RECOVERED"))
        assert (
            pid in row and paid["razorpay_payment_id"] in row and "would complete (dry run)" in row
        )
        assert "reconcile: 1/1" in err  # the progress, on stderr
        assert (await Payment.get(pid)).status is PaymentStatus.INITIATED
        assert await ReconciliationReport.find_all().count() == 0

        code, out, err = await reconcile(env=env, cwd=tmp_path)
        assert code == 0, err
        assert "DRY RUN" not in out and "complete" in out
        assert (await Payment.get(pid)).status is PaymentStatus.COMPLETED
        [stored] = await ReconciliationReport.find_all().to_list()
        assert stored.trigger.value == "CLI" and f"report {stored.id}" in out

    async def test_exit_codes(self, settings, app_server, redis, shopper, tmp_path):
        env = suite_env(settings, app_server)
        code, _, err = await reconcile("--since", "soon", env=env, cwd=tmp_path)
        assert code == 2 and "--since" in err
        from services.reconciliation import LOCK_KEY

        await redis.set(LOCK_KEY, "another-run", px=30_000)
        code, out, err = await reconcile(env=env, cwd=tmp_path)
        assert code == 3 and "already in progress" in err and out == ""

    async def test_an_issue_exits_1_and_raises_its_alert(
        self, client, settings, app_server, redis, shopper, tmp_path
    ):
        pid, gateway_payment_id = await verified(shopper)
        await razorpay(client, action="alter_payment", payment_id=gateway_payment_id, amount=99900)

        code, out, err = await reconcile(env=suite_env(settings, app_server), cwd=tmp_path)

        assert code == 1, out + err
        assert "AMOUNT_MISMATCH" in out
        key = f"AMOUNT_MISMATCH:{pid}:{gateway_payment_id}"
        assert await redis.exists(f"{DEDUPE_PREFIX}{RECONCILIATION_ISSUE}:{key}")


INITIATE = """
mutation($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    ... on InitiatePaymentSuccess { payment { id } checkout { gatewayOrderId } }
  }
}"""


@pytest.mark.timeout(180)
class TestBesideDev:
    def test_reconcile_dry_run_next_to_a_running_dev(self, tmp_path):
        from datetime import timedelta

        from pymongo import MongoClient

        from infra.embedded import read_dev_env
        from models.clock import utcnow

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        dev = subprocess.Popen(
            [*PAYGRAPH, "dev"], cwd=tmp_path, env=clean_env(PORT=str(port)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and dev.poll() is None:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            # A payment paid at dev's sandbox whose webhooks were lost, ten minutes ago.
            token = subprocess.run(
                [*PAYGRAPH, "token", "--customer", "dev-shopper"], cwd=tmp_path, env=clean_env(),
                capture_output=True, text=True, timeout=30, check=True,
            ).stdout.strip()  # fmt: skip
            httpx.post(
                f"{base}/sandbox/razorpay/_control",
                json={"action": "configure", "webhooks": "drop"},
            )
            initiated = httpx.post(
                f"{base}/graphql",
                json={
                    "query": INITIATE,
                    "variables": {"input": {"orderId": "DEV-RECON-1", "amount": "10.00"}},
                },
                headers={"Authorization": f"Bearer {token}"},
            ).json()["data"]["initiatePayment"]
            paid = httpx.post(
                f"{base}/sandbox/razorpay/checkout/{initiated['checkout']['gatewayOrderId']}/pay",
                json={"method": "card", "card_number": "4100280000001007"},
            ).json()
            then = utcnow() - timedelta(minutes=10)
            with MongoClient(
                read_dev_env(tmp_path / ".paygraph" / "dev.env")["MONGODB_URL"]
            ) as mongo:
                mongo["paygraph"]["payment_orders"].update_one(
                    {}, {"$set": {"created_at": then, "updated_at": then}}
                )
            # No MONGODB_URL, REDIS_URL, PORT or gateway keys: all from .paygraph/dev.env.
            result = subprocess.run(
                [*PAYGRAPH, "reconcile", "--dry-run"], cwd=tmp_path, env=clean_env(),
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        finally:
            dev.terminate()
            dev.wait(timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "DRY RUN - nothing was changed" in result.stdout
        row = next(
            line for line in result.stdout.splitlines() if line.strip().startswith("RECOVERED")
        )
        assert initiated["payment"]["id"] in row and paid["razorpay_payment_id"] in row
        # Captured already (dev auto-captures) or only authorized: either way, nothing done.
        assert row.rstrip().endswith(
            ("would complete (dry run)", "would capture and complete (dry run)")
        )


class TestProgress:
    def test_a_terminal_gets_a_bar_with_log_lines_above_it(self):
        stream = io.StringIO()
        handler = logging.StreamHandler(sys.stderr)
        logger = logging.getLogger()
        logger.addHandler(handler)
        try:
            with RunProgress(Console(file=stream, force_terminal=True, width=80)) as progress:
                progress.update(1, 3)
                logging.getLogger("paygraph.test").warning("reconciliation DOUBLE_CHARGE: x")
                progress.update(3, 3)
        finally:
            logger.removeHandler(handler)
        shown = stream.getvalue()
        assert "reconcile" in shown and "3/3" in shown
        assert "reconciliation DOUBLE_CHARGE: x" in shown  # through the bar's console
        assert handler.stream is sys.stderr  # given back

    def test_elsewhere_a_line_every_tenth(self):
        stream = io.StringIO()
        with RunProgress(console_for(stream)) as progress:
            for done in range(101):
                progress.update(done, 100)
        assert stream.getvalue().splitlines() == [f"reconcile: {n}/100" for n in range(0, 101, 10)]

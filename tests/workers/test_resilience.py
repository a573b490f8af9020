"""No job gives up silently: an unexpected error is retried with backoff while arq's tries last,
then recorded as a failed job with its reason, counted, and its work handed back to the
database (a webhook row FAILED); a sweep can queue again work whose earlier job gave up."""

from __future__ import annotations

from arq.constants import job_key_prefix, result_key_prefix

from core import build_core
from models.enums import Gateway, WebhookEventStatus
from models.webhook_event import NormalizedEvent, WebhookEvent
from tests.support.worker import run_burst
from workers import jobs
from workers.queue import refund_job_id
from workers.settings import build_worker_settings


async def _broken_inbox_row(event_id: str) -> WebhookEvent:
    """A stored event the worker cannot read back (its normalized part is not an object):
    processing it raises something no job expects."""
    row = WebhookEvent(
        gateway=Gateway.RAZORPAY,
        gateway_event_id=event_id,
        event_type="payment.captured",
        payload={"event": "payment.captured"},
        event=NormalizedEvent(kind="PAYMENT_CAPTURED"),
    )
    await row.insert()
    await WebhookEvent.get_pymongo_collection().update_one(
        {"_id": row.id}, {"$set": {"event": "not an object"}}
    )
    return row


class TestAJobThatKeepsFailing:
    async def test_is_retried_then_recorded_and_its_row_failed(
        self, settings, app_server, mongo_db, redis, monkeypatch
    ):
        monkeypatch.setattr(jobs, "FAULT_RETRY_DELAYS", (0,))  # retry at once
        row = await _broken_inbox_row("evt_broken_1")
        core = build_core(settings, serve_sandboxes=False)
        try:
            await core.queue.enqueue_webhook(Gateway.RAZORPAY, "evt_broken_1")
        finally:
            await core.aclose()

        worker = await run_burst(build_worker_settings(settings, poll_delay=0.05))

        # The worker's own client is closed now: read through the suite's.
        failed = await mongo_db["failed_jobs"].find_one({"job": "process_webhook"})
        assert failed is not None
        assert failed["tries"] == jobs.MAX_TRIES
        assert failed["job_id"] == "webhook:razorpay:evt_broken_1"
        assert failed["args"] == ["RAZORPAY", "evt_broken_1"]
        assert "ValidationError" in failed["reason"]
        stored = await mongo_db["webhook_events"].find_one({"_id": row.id})
        assert stored["status"] == WebhookEventStatus.FAILED.value
        assert "ValidationError" in stored["last_error"]
        assert worker.jobs_retried == jobs.MAX_TRIES - 1
        faults = worker.ctx["core"].metrics.job_faults
        assert faults.labels("process_webhook", "retried")._value.get() == jobs.MAX_TRIES - 1
        assert faults.labels("process_webhook", "failed")._value.get() == 1

    async def test_a_failing_cron_is_recorded_without_retry(
        self, settings, app_server, mongo_db, redis, monkeypatch
    ):
        async def broken_sweep(self, *, now=None):
            raise RuntimeError("inbox unreadable")

        # A unit-level fault: the sweep's service method fails; the cron's wrapper is under test.
        monkeypatch.setattr("services.webhooks.WebhookInbox.sweep", broken_sweep)
        options = build_worker_settings(settings, poll_delay=0.05)
        ctx: dict = {"job_try": 1, "job_id": "cron:sweep_webhooks:1"}
        await options["on_startup"](ctx)
        try:
            outcome = await jobs.sweep_webhooks(ctx)  # type: ignore[arg-type]
        finally:
            await options["on_shutdown"](ctx)
        assert outcome == "failed: RuntimeError: inbox unreadable"
        failed = await mongo_db["failed_jobs"].find_one({"job": "sweep_webhooks"})
        assert failed is not None and failed["tries"] == 1


class TestSweepsQueueAgain:
    async def test_a_finished_job_blocks_a_plain_enqueue_but_not_a_sweep(
        self, settings, mongo_db, redis
    ):
        job_id = refund_job_id("6b0d743032b5c4a52676ae29")
        # What arq keeps after a job that gave up: its result, under the job id.
        await redis.set(result_key_prefix + job_id, b"{}", ex=3600)
        core = build_core(settings, serve_sandboxes=False)
        try:
            await core.queue.enqueue_refund("6b0d743032b5c4a52676ae29")
            assert not await redis.exists(job_key_prefix + job_id)  # arq ignored it
            await core.queue.enqueue_refund("6b0d743032b5c4a52676ae29", again=True)
            assert await redis.exists(job_key_prefix + job_id)  # the database said: again
        finally:
            await core.aclose()

    async def test_a_queued_job_is_not_doubled_by_a_sweep(self, settings, mongo_db, redis):
        core = build_core(settings, serve_sandboxes=False)
        try:
            await core.queue.enqueue_webhook(Gateway.RAZORPAY, "evt_q_1")
            await core.queue.enqueue_webhook(Gateway.RAZORPAY, "evt_q_1", again=True)
            assert await redis.zcard("paygraph:queue") == 1
        finally:
            await core.aclose()

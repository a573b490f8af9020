"""arq's lines about the routine crons are dropped; everything else it logs passes. On the
records a real burst worker writes."""

from __future__ import annotations

import logging

import pytest
from arq import create_pool, cron

from services.health import HEARTBEAT_KEY
from tests.support.worker import run_burst
from workers import jobs
from workers.logs import ARQ_WORKER_LOGGER, RoutineCronFilter, quiet_routine_crons
from workers.settings import QUEUE_NAME, build_worker_settings, routine_cron_names


class Written(logging.Filter):
    """Every line arq writes, before the quiet filter (which is installed after this one)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        self.lines.append(record.getMessage())
        return True


@pytest.fixture
def written():
    logger = logging.getLogger(ARQ_WORKER_LOGGER)
    written = Written()
    logger.addFilter(written)
    yield written
    logger.removeFilter(written)


@pytest.fixture
def quiet_options(settings, written):
    options = build_worker_settings(settings, poll_delay=0.05)
    installed = quiet_routine_crons(routine_cron_names(options))
    yield options
    logging.getLogger(ARQ_WORKER_LOGGER).removeFilter(installed)


def arq_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ARQ_WORKER_LOGGER]


class TestRoutineCronFilter:
    def test_the_routine_crons_are_the_frequent_ones(self, settings):
        names = routine_cron_names(build_worker_settings(settings))
        assert names == {
            "cron:heartbeat",
            "cron:sweep_webhooks",
            "cron:sweep_refunds",
            "cron:expire_payments",
            "cron:check_alerts",
        }

    async def test_the_heartbeat_cron_is_quiet_and_an_enqueued_job_is_not(
        self, quiet_options, written, redis, mongo_db, caplog
    ):
        pool = await create_pool(
            quiet_options["redis_settings"],
            job_serializer=quiet_options["job_serializer"],
            job_deserializer=quiet_options["job_deserializer"],
            default_queue_name=QUEUE_NAME,
        )
        try:
            await pool.enqueue_job("heartbeat", _job_id="heartbeat:by-hand")
        finally:
            await pool.aclose()
        with caplog.at_level(logging.INFO, logger=ARQ_WORKER_LOGGER):
            worker = await run_burst(quiet_options)

        assert worker.jobs_failed == 0
        assert await redis.get(HEARTBEAT_KEY) is not None
        # arq wrote the cron's lines (it runs at startup); none of them got through.
        assert any("s → cron:heartbeat()" in line for line in written.lines), written.lines
        lines = arq_lines(caplog)
        assert not [line for line in lines if "s → cron:" in line or "s ← cron:" in line], lines
        assert any("→ heartbeat:by-hand:heartbeat()" in line for line in lines), lines
        assert any("← heartbeat:by-hand:heartbeat" in line for line in lines), lines

    async def test_a_routine_cron_that_fails_is_logged(self, quiet_options, written, redis, caplog):
        # No Core in the job context: the sweep fails on its first line.
        quiet_options.update(
            on_startup=None,
            on_shutdown=None,
            functions=[],
            cron_jobs=[cron(jobs.sweep_webhooks, run_at_startup=True, max_tries=1)],  # type: ignore[arg-type]
        )
        with caplog.at_level(logging.INFO, logger=ARQ_WORKER_LOGGER):
            await run_burst(quiet_options)

        # The job's own boundary reports it (workers/jobs.py: nothing gives up silently); arq's
        # routine start line stays in the written log only.
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("job sweep_webhooks failed: KeyError" in r.getMessage() for r in failures)
        assert any("s → cron:sweep_webhooks()" in line for line in written.lines)
        assert not any("s → cron:sweep_webhooks" in line for line in arq_lines(caplog))


def arq_record(level: int, msg: str, *args: object) -> logging.LogRecord:
    """A record as arq.worker makes it (its format strings, its arguments)."""
    logger = logging.getLogger(ARQ_WORKER_LOGGER)
    return logger.makeRecord(ARQ_WORKER_LOGGER, level, __file__, 1, msg, args, None)


class TestRoutineCronFilterLines:
    quiet = RoutineCronFilter({"cron:heartbeat"})

    def test_a_retry_of_a_routine_cron_passes(self):
        retry = arq_record(
            logging.INFO, "%6.2fs ↻ %s retrying job in %0.2fs", 0.1, "cron:heartbeat", 1.0
        )
        assert self.quiet.filter(retry) is True

    def test_a_warning_about_a_routine_cron_passes(self):
        exceeded = arq_record(
            logging.WARNING, "%6.2fs ! %s max retries %d exceeded", 0.1, "cron:heartbeat", 1
        )
        assert self.quiet.filter(exceeded) is True

    def test_the_health_summary_is_dropped(self):
        health = arq_record(logging.INFO, "recording health: %s", "j_complete=3 j_failed=0")
        assert self.quiet.filter(health) is False

"""arq's log lines, trimmed for a console. The routine crons run every few seconds; arq logs a
start and a finish line for each run, and a health line whenever its counters moved (every
run), which buries the lines that matter. Those are dropped here; everything else arq says
passes: retries, failures, warnings, and every line of any other job. The routine jobs log on
their own when they did something ("expired 3 payments")."""

from __future__ import annotations

import logging
from collections.abc import Iterable

ARQ_WORKER_LOGGER = "arq.worker"
# arq's formats (arq/worker.py) of a job's start and successful finish; args[1] is the job's
# name ("cron:<function>" for a cron run, "<job id>:<function>" for an enqueued job).
_START = "%6.2fs → %s(%s)%s"
_FINISH = "%6.2fs ← %s ● %s"
# arq's periodic summary; the same figures stay in Redis for `arq --check`.
_HEALTH = "recording health: %s"


class RoutineCronFilter(logging.Filter):
    """Drops arq's INFO start and finish lines of the named cron jobs, and its health line."""

    def __init__(self, cron_names: Iterable[str]) -> None:
        super().__init__()
        self.cron_names = frozenset(cron_names)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        if record.msg == _HEALTH:
            return False
        if record.msg in (_START, _FINISH) and isinstance(record.args, tuple):
            return len(record.args) < 2 or record.args[1] not in self.cron_names
        return True


def quiet_routine_crons(cron_names: Iterable[str]) -> RoutineCronFilter:
    """Install the filter on arq's worker logger (replacing an earlier one); returns it."""
    logger = logging.getLogger(ARQ_WORKER_LOGGER)
    for existing in [f for f in logger.filters if isinstance(f, RoutineCronFilter)]:
        logger.removeFilter(existing)
    installed = RoutineCronFilter(cron_names)
    logger.addFilter(installed)
    return installed

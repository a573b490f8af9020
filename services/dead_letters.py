"""Jobs that gave up after their last try: recorded, never silently dropped."""

from __future__ import annotations

import logging

from pymongo.errors import PyMongoError

from models.failed_job import FailedJob

log = logging.getLogger("paygraph.jobs")

REASON_MAX = 500


async def record_failed_job(
    job: str, job_id: str, args: list[str], tries: int, reason: str
) -> FailedJob:
    """Store the failure (an ERROR log line names it too). Never raises for a storage outage:
    the log line and the metric still tell."""
    log.error("job %s (%s) gave up after %d tries: %s", job, job_id, tries, reason)
    failed = FailedJob(job=job, job_id=job_id, args=args, tries=tries, reason=reason[:REASON_MAX])
    try:
        await failed.insert()
    except PyMongoError:  # the failure is already logged; MongoDB may be its cause
        log.exception("could not store the failure of job %s", job_id)
    return failed

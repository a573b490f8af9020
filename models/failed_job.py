"""A background job that gave up: what it was, how often it tried and why it failed. The work
itself stays where the database says it is (an inbox row, a PENDING refund), so a sweep or an
operator can take it up again; this record is what makes the failure visible and countable."""

from __future__ import annotations

from beanie import Document
from pydantic import Field
from pymongo import DESCENDING, IndexModel

from models.clock import UtcDateTime, utcnow


class FailedJob(Document):
    job: str  # the job function's name, e.g. "send_refund"
    job_id: str  # "<kind>:<natural key>"
    args: list[str] = Field(default_factory=list)
    tries: int = Field(ge=1)
    reason: str = Field(max_length=500)
    failed_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "failed_jobs"
        indexes = [IndexModel([("failed_at", DESCENDING)], name="failed_at")]

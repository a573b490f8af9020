"""What events out needs from the outside: the job queue (arq in workers/) and the metrics
(infra/metrics.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class EventsQueue(Protocol):
    async def enqueue_relays(self, relays: Sequence[tuple[str, Sequence[str], str]]) -> None:
        """One job per (source, document ids, key): relay those documents' outboxes; `key`
        names the writes (the same key queued again is the same job)."""
        ...

    async def enqueue_delivery(
        self, delivery_id: str, attempt: int, *, at: datetime | None = None, tag: str = ""
    ) -> None:
        """Attempt `attempt` of a delivery, at `at` (now when None); one job per attempt
        (`tag` tells a redelivery's job from the scheduled one)."""
        ...


class EventsRecorder(Protocol):
    def webhook_attempt(self, outcome: str, seconds: float) -> None:
        """One attempt: `outcome` is delivered, retrying, failed (the last attempt) or refused."""
        ...

    def webhook_delivered(self, seconds_since_change: float) -> None:
        """A delivery succeeded this long after the change its event reports."""
        ...

    def events_backlog(self, stage: str, seconds: float) -> None:
        """How long the oldest item of `stage` has waited: "outbox" (an event not yet relayed)
        or "deliveries" (an attempt past its time); 0 when none waits."""
        ...


class NullEventsRecorder:
    def webhook_attempt(self, outcome: str, seconds: float) -> None:
        return None

    def webhook_delivered(self, seconds_since_change: float) -> None:
        return None

    def events_backlog(self, stage: str, seconds: float) -> None:
        return None

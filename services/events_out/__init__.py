"""Events out: every payment and refund change (and each late payment and reconciliation
issue) told to the shop's backend, signed per Standard Webhooks, retried, never lost.

How an event travels:
1. The write that changes a payment or a refund also `$push`es the event into that document's
   `outbox` array (payloads.py builds it from the record as written; outbox.push_update is the
   update's part). A transaction, where there is one, carries it the same way. One write: a
   change without its event, or an event without its change, cannot exist.
2. Right after the write, a relay job (queued in the background by OutboxNudge, a change
   observer) copies the entries into `events` under their ids, creates one delivery per
   subscribed endpoint and pulls the entries from the document; a sweep relays what a lost
   job or a crashed process left behind.
3. Each delivery attempt is a job of the events lane: sign, post, record, schedule the next.

Modules: payloads (the catalog's events and their JSON), outbox (relay, nudge, sweep),
endpoints (registration, secrets and rotation), deliveries (attempts, schedule, health,
redelivery), transport (the SSRF guard and the HTTP post), signing, slots (per-endpoint
concurrency), listen (`paygraph listen`), ports (queue and metrics), service (the facade).
"""

from services.events_out.deliveries import RETRY_SCHEDULE, Attempted, DeliveryPolicy, Outcome
from services.events_out.endpoints import ROTATION_OVERLAP, EndpointChange
from services.events_out.listen import Forwarded, ListenSession
from services.events_out.outbox import OutboxNudge, push_update
from services.events_out.payloads import (
    late_payment,
    payment_changed,
    reconciliation_issues,
    refund_changed,
)
from services.events_out.ports import EventsQueue, EventsRecorder
from services.events_out.service import EventsOutService, Page
from services.events_out.transport import UrlPolicy

__all__ = [
    "RETRY_SCHEDULE",
    "ROTATION_OVERLAP",
    "Attempted",
    "DeliveryPolicy",
    "EndpointChange",
    "EventsOutService",
    "EventsQueue",
    "EventsRecorder",
    "Forwarded",
    "ListenSession",
    "OutboxNudge",
    "Outcome",
    "Page",
    "UrlPolicy",
    "late_payment",
    "payment_changed",
    "push_update",
    "reconciliation_issues",
    "refund_changed",
]

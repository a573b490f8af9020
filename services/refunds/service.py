"""RefundService: the refund path's one entry point (resolvers, workers, webhooks and
reconciliation call it), a facade over the package's modules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from beanie import PydanticObjectId

from gateways.base import GatewayEvent, GatewayRefund
from gateways.registry import GatewayRegistry
from models.clock import utcnow
from models.enums import TransitionSource
from models.payment import LatePayment, Payment
from models.refund import Refund
from services.auth import Principal
from services.events import EventBus
from services.observers import ChangeObserver, NullObserver
from services.refunds.accept import accept_late_refund, accept_refund, sweep_pending
from services.refunds.commands import RefundCommand, RefundPolicy, RefundQueue
from services.refunds.queries import refund_for, watch_refunds
from services.refunds.send import send_pending, submit_refund
from services.refunds.store import RefundStore
from services.refunds.updates import apply_answer, apply_webhook


class RefundService:
    def __init__(
        self,
        gateways: GatewayRegistry,
        events: EventBus,
        queue: RefundQueue,
        policy: RefundPolicy | None = None,
        *,
        observer: ChangeObserver | None = None,
    ) -> None:
        self._gateways = gateways
        self._events = events
        self._queue = queue
        self._policy = policy or RefundPolicy()
        self._store = RefundStore(events, observer or NullObserver())

    # -- reads ---------------------------------------------------------------------------

    async def get(self, principal: Principal, refund_id: str) -> Refund:
        return await refund_for(principal, refund_id)

    def watch(self, principal: Principal, payment_id: str) -> AsyncIterator[Refund]:
        """The payment's refunds now, then each refund change (from any process)."""
        return watch_refunds(self._events, principal, payment_id)

    # -- accepting -----------------------------------------------------------------------

    async def refund(self, principal: Principal, command: RefundCommand) -> Refund:
        """Accept (or reject) a refund: a new one comes back PENDING, its amount reserved and
        its job queued. Admin only; a customer gets FORBIDDEN for their own payment and
        NOT_FOUND for anyone else's. The same idempotency key returns the first refund (in
        its current status); the same key with other parameters is IDEMPOTENCY_CONFLICT."""
        return await accept_refund(self._store, self._queue, self._policy, principal, command)

    async def refund_late_payment(self, payment: Payment, late: LatePayment) -> Refund:
        """Return money captured for a closed payment, in full, like any refund (reserved,
        PENDING, sent by a worker; source LATE_PAYMENT). Idempotent per late payment."""
        return await accept_late_refund(self._store, self._queue, self._policy, payment, late)

    async def sweep(self, *, now: datetime | None = None) -> int:
        """Queue again the refunds still PENDING `resend_after` their acceptance (the queue
        was down, or a worker died), younger than REFUND_TIMEOUT_HOURS; older ones are
        reconciliation's. A refund whose job is queued or retrying keeps that one job; a
        resend is safe anyway: the gateway replays the refund its idempotency key names."""
        return await sweep_pending(self._queue, self._policy, now or utcnow())

    # -- sending -------------------------------------------------------------------------

    async def send(self, refund_id: str) -> Refund | None:
        """The worker's side of an accepted refund: send it if it is still PENDING (a second
        run, or one after the webhook settled it, changes nothing). Still PENDING afterwards
        means the gateway's answer never came: the job tries again later, with the same
        idempotency key. None: no such refund."""
        return await send_pending(self._gateways, self._store, refund_id)

    async def submit(
        self, refund: Refund, *, source: TransitionSource = TransitionSource.API
    ) -> Refund:
        """Send the refund to its gateway (idempotent by our refund id) and apply the answer.
        An unknown outcome leaves it PENDING for the sweep and reconciliation, which call this
        again: the gateway replays the first refund instead of making another."""
        return await submit_refund(self._gateways, self._store, refund, source)

    # -- what the gateway says -----------------------------------------------------------

    async def apply_gateway_refund(
        self,
        refund: Refund,
        answer: GatewayRefund,
        source: TransitionSource,
        gateway_event_id: str | None = None,
    ) -> Refund:
        """Feed what the gateway says about one refund through the refund state machine; the
        gateway's refund id is stored with the change (or alone when nothing changes)."""
        return await apply_answer(self._store, refund, answer, source, gateway_event_id)

    async def apply_gateway_event(
        self, event: GatewayEvent
    ) -> tuple[PydanticObjectId, PydanticObjectId | None]:
        """A refund webhook. Raises TargetNotFound while we do not know the refund (yet)."""
        return await apply_webhook(self._store, event)

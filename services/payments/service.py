"""PaymentService: the one entry to payments for resolvers, jobs, webhooks and reconciliation.
A thin facade; each method is one call into the module that owns its concern."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from beanie import PydanticObjectId

from gateways.base import GatewayEvent, GatewayPayment
from gateways.registry import GatewayRegistry
from models.enums import PaymentStatus, TransitionSource
from models.payment import ClientMetadata, LatePayment, Payment
from services import catalog
from services.auth import Principal
from services.events import EventBus
from services.observers import ChangeObserver, NullObserver
from services.payments import queries, rules
from services.payments.checkout import Checkout
from services.payments.closing import Closing
from services.payments.late import AlertSink, LateMoney, LateRefunds
from services.payments.store import PaymentStore
from services.payments.sync import PaymentSync
from services.payments.types import (
    InitiateCommand,
    Initiated,
    PaymentPage,
    PaymentPolicy,
    VerifyCommand,
)
from services.ratelimit import RateLimiter
from services.saved_methods import SavedMethodService


class PaymentService:
    """The only writer of a payment's status and money fields (through PaymentStore): every
    change is decided by `models.transitions.decide`, written compare-and-set, kept on the
    timeline with its source and published to subscribers. Gateway calls happen outside any
    database write."""

    def __init__(
        self,
        gateways: GatewayRegistry,
        events: EventBus,
        policy: PaymentPolicy,
        *,
        limiter: RateLimiter | None = None,
        saved_methods: SavedMethodService | None = None,  # verify(save_method=True) saves
        observer: ChangeObserver | None = None,  # metrics; told after each applied write
        late_refunds: LateRefunds | None = None,  # returns late captured money
        alerts: AlertSink | None = None,  # told of each late payment
    ) -> None:
        self._gateways = gateways
        self._events = events
        self._policy = policy
        self._live_reads = queries.SharedReads()
        observer = observer or NullObserver()
        self._store = PaymentStore(events, observer)
        self._late = LateMoney(
            self._store,
            observer,
            policy.late_payment_policy,
            refunds=late_refunds,
            alerts=alerts,
        )
        self._sync = PaymentSync(
            gateways, self._store, policy, self._late, saved_methods=saved_methods
        )
        self._closing = Closing(self._store, self._sync, policy.timeout_minutes)
        self._checkout = Checkout(
            gateways, self._store, policy, limiter=limiter, saved_methods=saved_methods
        )

    # -- reads -----------------------------------------------------------------------------

    async def get(self, principal: Principal, payment_id: str) -> Payment:
        """The payment if the caller may see it; another customer's id is PaymentNotFound."""
        return await queries.get(principal, payment_id)

    async def read(
        self, principal: Principal, payment_id: str, *, fields: frozenset[str] | None = None
    ) -> Payment:
        """`get` for display only: reads `fields` (of queries.DISPLAY_FIELDS; None: all) and
        what the model needs, never what only writers read. Never write it back."""
        return await queries.read(principal, payment_id, fields=fields)

    async def list_payments(
        self,
        principal: Principal,
        *,
        first: int = 20,
        after: str | None = None,
        status: PaymentStatus | None = None,
        customer_id: str | None = None,
    ) -> PaymentPage:
        """Newest first, cursor-paginated; customers see only their own payments."""
        return await queries.list_payments(
            principal, first=first, after=after, status=status, customer_id=customer_id
        )

    def watch(self, principal: Principal, payment_id: str) -> AsyncIterator[Payment]:
        """The current payment, then every change, ending after a final status. Ownership is
        checked before anything is yielded; changes from any process arrive via Redis."""
        return queries.watch(
            self._events, self._live_reads, self._policy.max_attempts, principal, payment_id
        )

    async def find_for_event(self, event: GatewayEvent) -> Payment | None:
        """The payment a gateway event is about: by our reference, else by the gateway's ids."""
        return await queries.find_for_event(event)

    def supported_methods(self, currency: str, amount: str | None) -> list[catalog.MethodOption]:
        """What the checkout should offer for this currency (and amount, when known)."""
        return rules.supported_methods(self._gateways, currency, amount)

    # -- checkout --------------------------------------------------------------------------

    async def initiate(
        self, principal: Principal, command: InitiateCommand, client: ClientMetadata
    ) -> Initiated:
        """Create (or return, for an identical repeat) the payment for (customer, orderId) and
        its gateway order. At most one gateway order per payment, whatever the concurrency."""
        return await self._checkout.initiate(principal, command, client)

    async def verify(self, principal: Principal, command: VerifyCommand) -> Payment:
        """Check the browser's proof against the gateway and move the payment on. Verifying an
        already completed payment returns it unchanged."""
        return await self._sync.verify(principal, command)

    # -- what the gateway says (webhooks, reconciliation) ----------------------------------

    async def apply_gateway_payment(
        self,
        payment: Payment,
        found: GatewayPayment,
        source: TransitionSource,
        *,
        actor: str | None = None,
        gateway_event_id: str | None = None,
        capture: bool = False,
    ) -> Payment:
        """Feed what the gateway says about one payment attempt through the state machine
        (API verify, webhooks and reconciliation all come here); `capture` captures an
        authorization it reports."""
        return await self._sync.apply_gateway_payment(
            payment,
            found,
            source,
            actor=actor,
            gateway_event_id=gateway_event_id,
            capture=capture,
        )

    async def apply_gateway_event(self, event: GatewayEvent) -> PydanticObjectId:
        """Apply a verified webhook about a payment through the state machine (source
        WEBHOOK). Raises TargetNotFound while the payment is not in our database yet."""
        return await self._sync.apply_gateway_event(event)

    async def capture_approved(
        self,
        payment: Payment,
        source: TransitionSource,
        *,
        actor: str | None = None,
        gateway_event_id: str | None = None,
    ) -> Payment:
        """Capture a PayPal order its buyer approved (verifyPayment, the approval webhook and
        reconciliation all come here). The capture's PayPal-Request-Id makes a repeat a replay.
        Not approved yet: InvalidState. Declined: counted as a failed attempt, then the
        gateway's GatewayRejected is raised for the caller to translate."""
        return await self._sync.capture_approved(
            payment, source, actor=actor, gateway_event_id=gateway_event_id
        )

    # -- closing an unpaid payment ---------------------------------------------------------

    async def cancel(self, principal: Principal, payment_id: str) -> Payment:
        """Cancel a pending or initiated payment (cancelling a cancelled one returns it), after
        asking the gateway: a payment paid meanwhile is applied, not cancelled (InvalidState)."""
        return await self._closing.cancel(principal, payment_id)

    async def expire_stale(self, *, now: datetime | None = None, limit: int = 500) -> int:
        """Expire every unpaid payment past its expiry time whose gateway order holds nothing
        (what it holds is applied instead); returns how many were expired."""
        return await self._closing.expire_stale(now=now, limit=limit)

    async def expire(
        self, payment: Payment, source: TransitionSource, *, actor: str | None = None, note: str
    ) -> Payment:
        """Close an unpaid payment as EXPIRED after asking the gateway (what its order holds is
        applied instead); InvalidState if it has moved past that, GatewayError if the gateway
        cannot be asked."""
        return await self._closing.expire(payment, source, actor=actor, note=note)

    # -- late money ------------------------------------------------------------------------

    def is_closed(self, payment: Payment) -> bool:
        """Cancelled, expired or failed for good: money for it now is late money."""
        return self._sync.closed(payment)

    async def collect_late(
        self, payment: Payment, source: TransitionSource, *, actor: str | None = None
    ) -> Payment:
        """Ask the gateway about a closed payment; record what it holds as late money."""
        return await self._sync.collect_late(payment, source, actor=actor)

    def is_late_money(self, payment: Payment, found: GatewayPayment) -> bool:
        """Whether `found` is money the closed `payment` must treat as late."""
        return self._sync.is_late_money(payment, found)

    async def late_reported(self, payment: Payment) -> list[LatePayment]:
        """Mark the payment's late payments reported; returns those this call marked."""
        return await self._late.mark_reported(payment)

    async def return_late_money(self, payment: Payment) -> None:
        """Make sure each late capture to refund has its refund (idempotent)."""
        await self._late.return_money(payment)

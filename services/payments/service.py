"""PaymentService: the one entry to payments for resolvers, jobs, webhooks and reconciliation.
A thin facade; each method is one call into the module that owns its concern."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from beanie import PydanticObjectId

from gateways.base import GatewayEvent, GatewayPayment
from gateways.registry import GatewayRegistry
from models.enums import PaymentStatus, TransitionSource
from models.payment import ClientMetadata, Payment
from services import catalog
from services.auth import Principal
from services.events import EventBus
from services.observers import ChangeObserver, NullObserver
from services.payments import closing, queries, rules
from services.payments.checkout import Checkout
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
    ) -> None:
        self._gateways = gateways
        self._events = events
        self._policy = policy
        self._store = PaymentStore(events, observer or NullObserver())
        self._sync = PaymentSync(gateways, self._store, policy, saved_methods=saved_methods)
        self._checkout = Checkout(
            gateways, self._store, policy, limiter=limiter, saved_methods=saved_methods
        )

    # -- reads -----------------------------------------------------------------------------

    async def get(self, principal: Principal, payment_id: str) -> Payment:
        """The payment if the caller may see it; another customer's id is PaymentNotFound."""
        return await queries.get(principal, payment_id)

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
        return queries.watch(self._events, self._policy.max_attempts, principal, payment_id)

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
        """Cancel a pending or initiated payment (cancelling a cancelled one returns it)."""
        return await closing.cancel(self._store, principal, payment_id)

    async def expire_stale(self, *, now: datetime | None = None, limit: int = 500) -> int:
        """Mark EXPIRED every unpaid payment past its expiry time; returns how many."""
        return await closing.expire_stale(
            self._store, self._policy.timeout_minutes, now=now, limit=limit
        )

    async def expire(
        self, payment: Payment, source: TransitionSource, *, actor: str | None = None, note: str
    ) -> Payment:
        """Close an unpaid payment as EXPIRED (InvalidState if it has moved past that)."""
        return await closing.expire(self._store, payment, source, actor=actor, note=note)

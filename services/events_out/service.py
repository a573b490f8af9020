"""EventsOutService: the facade the resolvers, the worker jobs and `paygraph listen` call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from beanie import PydanticObjectId
from redis.asyncio import Redis

from models.errors import ValidationFailed
from models.events_out import Delivery, Event, OutboxSource, WebhookEndpoint
from services.alerts import AlertService
from services.crypto import TokenVault
from services.events_out.deliveries import Attempted, Deliverer, DeliveryPolicy
from services.events_out.endpoints import EndpointChange, Endpoints, event_types
from services.events_out.outbox import OutboxNudge, OutboxRelay
from services.events_out.ports import EventsQueue, EventsRecorder
from services.events_out.slots import EndpointSlots
from services.events_out.transport import UrlPolicy, WebhookSender, resolve

T = TypeVar("T", Event, Delivery)
MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return str(self.items[-1].id) if self.items else None


class EventsOutService:
    def __init__(
        self,
        vault: TokenVault,
        queue: EventsQueue,
        redis: Redis,
        *,
        public_only: bool,
        policy: DeliveryPolicy | None = None,
        alerts: AlertService | None = None,
        recorder: EventsRecorder | None = None,
        url_policy: UrlPolicy | None = None,
    ) -> None:
        """`public_only` (production): https endpoints on public addresses only."""
        policy = policy or DeliveryPolicy()
        urls = url_policy or UrlPolicy(public_only=public_only, resolver=resolve)
        self._endpoints = Endpoints(vault, urls)
        self._sender = WebhookSender(urls, timeout=policy.timeout)
        self._relay = OutboxRelay(queue, recorder)
        slots = EndpointSlots(
            redis, limit=policy.endpoint_concurrency, lease_seconds=policy.timeout + 5
        )
        self._deliverer = Deliverer(
            self._endpoints, self._sender, slots, queue, policy, alerts=alerts, recorder=recorder
        )
        self.nudge = OutboxNudge(queue)
        """The change observer that queues each write's relay (composed in core.py)."""

    # -- endpoints (admin) -----------------------------------------------------------------

    async def create_endpoint(
        self, url: str, events: Sequence[str], description: str | None = None
    ) -> tuple[WebhookEndpoint, str]:
        """Register an endpoint for `events` (empty: every type); answers it with its signing
        secret, which is never shown again. VALIDATION_ERROR for a URL the SSRF policy refuses
        or an unknown event type."""
        return await self._endpoints.create(url, events, description)

    async def endpoints(self) -> list[WebhookEndpoint]:
        return await self._endpoints.all()

    async def update_endpoint(self, endpoint_id: str, change: EndpointChange) -> WebhookEndpoint:
        """Change what is given; enabling a disabled endpoint starts its failure count afresh
        and the sweep sends what waited for it."""
        return await self._endpoints.update(endpoint_id, change)

    async def delete_endpoint(self, endpoint_id: str) -> PydanticObjectId:
        return await self._endpoints.delete(endpoint_id)

    async def rotate_secret(self, endpoint_id: str) -> tuple[WebhookEndpoint, str]:
        """A new secret (shown once); the previous ones keep signing for 24 hours."""
        return await self._endpoints.rotate(endpoint_id)

    # -- history (admin) -------------------------------------------------------------------

    async def deliveries(
        self, endpoint_id: str, *, first: int = 20, after: str | None = None
    ) -> Page[Delivery]:
        """An endpoint's deliveries, newest event first."""
        endpoint = await self._endpoints.get(endpoint_id)
        query: dict[str, Any] = {"endpoint_id": endpoint.id}
        return await _page(Delivery, query, first, after)

    async def events(
        self, *, first: int = 20, after: str | None = None, type: str | None = None
    ) -> Page[Event]:
        """Relayed events, newest first."""
        query: dict[str, Any] = {}
        if type is not None:
            query["type"] = event_types([type])[0].value
        return await _page(Event, query, first, after)

    async def redeliver(self, event_id: str, endpoint_id: str) -> Delivery:
        """Send an event to an endpoint again (same webhook-id) on a fresh retry schedule."""
        return await self._deliverer.redeliver(event_id, endpoint_id)

    # -- worker jobs -------------------------------------------------------------------------

    async def relay(self, source: str, document_ids: Sequence[str]) -> int:
        """Move the documents' outboxes into events and deliveries (safe to repeat)."""
        return await self._relay.relay(OutboxSource(source), document_ids)

    async def deliver(self, delivery_id: str, attempt: int) -> Attempted:
        """One attempt of one delivery (a repeat or a late run does nothing)."""
        return await self._deliverer.deliver(delivery_id, attempt)

    async def sweep(self, *, now: datetime | None = None) -> tuple[int, int]:
        """Relay outbox entries left behind and queue overdue attempts again: (events
        relayed, deliveries queued)."""
        return await self._relay.sweep(now=now), await self._deliverer.sweep(now=now)

    @property
    def sender(self) -> WebhookSender:
        """The SSRF-guarded HTTP client (`paygraph listen` posts with it too)."""
        return self._sender

    async def aclose(self) -> None:
        await self.nudge.aclose()
        await self._sender.aclose()


async def _page(model: type[T], query: dict[str, Any], first: int, after: str | None) -> Page[T]:
    if not 1 <= first <= MAX_PAGE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE}", field="first")
    if after:
        query = {**query, "_id": {"$lt": after}}
    found = await model.find(query).sort("-_id").limit(first + 1).to_list()
    return Page(found[:first], len(found) > first)

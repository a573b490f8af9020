"""`paygraph listen`: every new event, signed with a session secret, forwarded to a developer's
local URL (like `stripe listen`). It reads the events collection's change stream, so it sees
what the running service relays from the moment it starts, with no endpoint registered and
nothing stored about it; the shop's code verifies with the printed secret as it would with an
endpoint's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.change_stream import AsyncChangeStream

from models.clock import utcnow
from models.events_out import Event, EventType
from services.events_out.endpoints import event_types
from services.events_out.signing import new_secret, signed_headers
from services.events_out.transport import UrlPolicy, WebhookSender


@dataclass(frozen=True, slots=True)
class Forwarded:
    event_id: str
    type: str
    status_code: int | None
    error: str | None
    ms: int


class ListenSession:
    def __init__(self, forward_to: str, events: Sequence[str] = (), *, timeout: float = 15.0):
        self.forward_to = forward_to
        self.secret = new_secret()
        self._types: list[EventType] = event_types(events)
        self._policy = UrlPolicy(public_only=False)  # a developer's own machine
        self._sender = WebhookSender(self._policy, timeout=timeout, max_connections=4)
        self._stream: AsyncChangeStream[dict[str, Any]] | None = None

    async def start(self) -> None:
        """Check the URL (VALIDATION_ERROR unless http(s)) and start watching: every event
        relayed from now on is forwarded."""
        await self._policy.check_url(self.forward_to)
        match: dict[str, Any] = {"operationType": "insert"}
        if self._types:
            match["fullDocument.type"] = {"$in": [t.value for t in self._types]}
        self._stream = await Event.get_pymongo_collection().watch([{"$match": match}])

    async def forward(self) -> AsyncIterator[Forwarded]:
        """Forward each event, one at a time, in the order relayed."""
        if self._stream is None:
            raise RuntimeError("start() the session first")
        async for change in self._stream:
            event = Event.model_validate(change["fullDocument"])
            yield await self._post(event)

    async def _post(self, event: Event) -> Forwarded:
        body = json.dumps(event.body(), separators=(",", ":"))
        headers = signed_headers([self.secret], event.id, utcnow(), body)
        sent = await self._sender.post(self.forward_to, body.encode(), headers)
        return Forwarded(event.id, event.type.value, sent.status_code, sent.error, sent.duration_ms)

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.close()
        await self._sender.aclose()

"""Razorpay's webhooks: the event envelope, signed with the webhook secret over the raw body
(X-Razorpay-Signature, lowercase hex HMAC-SHA256), delivered at least once from a background
task and retried on any non-2xx. `/_control` can drop, hold, duplicate or reorder them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging

from gateways.sandbox.common.http import Json, compact_json
from gateways.sandbox.common.webhooks import retry
from gateways.sandbox.razorpay.state import Delivery, Sandbox, Webhook, new_id

log = logging.getLogger("paygraph.sandbox.razorpay")

# Waits between webhook deliveries, from the reference's measured schedule: 16 deliveries over
# about 23 hours, gaps roughly doubling. `speed` divides them (speed=1000: the lot in ~83 s,
# the first retries in milliseconds).
WEBHOOK_RETRY_WAITS: tuple[float, ...] = (
    0.25,
    6,
    13,
    20,
    43,
    82,
    164,
    328,
    656,
    1312,
    2624,
    5248,
    10496,
    20520,
    41040,
)


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def emit(sandbox: Sandbox, events: list[tuple[str, Json]]) -> None:
    """Queue webhooks for one API call; delivery happens on a background task so the API
    answer never waits for the merchant's endpoint."""
    if not (sandbox.config.webhook_url and sandbox.config.webhook_secret):
        return
    hooks = [_webhook(sandbox, name, payload) for name, payload in events]
    mode = sandbox.settings.webhooks
    if mode == "drop":
        for hook in hooks:
            hook.delivery.dropped = True
        return
    if mode == "hold":
        sandbox.held.extend(hooks)
        return
    if sandbox.settings.reorder_webhooks:
        hooks = hooks[::-1]
    if sandbox.settings.duplicate_webhooks:
        hooks = [twin for hook in hooks for twin in (hook, duplicate(sandbox, hook))]
    sandbox.outbox.spawn(deliver_in_order(sandbox, hooks))


def _webhook(sandbox: Sandbox, name: str, payload: Json) -> Webhook:
    event_id = new_id()
    envelope = {
        "entity": "event",
        "account_id": sandbox.config.account_id,
        "event": name,
        "contains": list(payload),
        "payload": {key: {"entity": copy.deepcopy(value)} for key, value in payload.items()},
        "created_at": sandbox.now(),
    }
    delivery = Delivery(event_id=event_id, event=name)
    sandbox.deliveries.append(delivery)
    return Webhook(event_id, name, compact_json(envelope), delivery)


def duplicate(sandbox: Sandbox, hook: Webhook) -> Webhook:
    """The same event again (same id and body, as Razorpay's redeliveries), recorded apart."""
    delivery = Delivery(event_id=hook.event_id, event=hook.event)
    sandbox.deliveries.append(delivery)
    return Webhook(hook.event_id, hook.event, hook.body, delivery)


async def deliver_in_order(sandbox: Sandbox, hooks: list[Webhook]) -> None:
    # First attempts go out in order; a failed one retries on its own task so a dead
    # endpoint does not hold back later events (Razorpay promises no order anyway).
    for hook in hooks:
        if not await _attempt(sandbox, hook):
            sandbox.outbox.spawn(_retry(sandbox, hook))


async def _retry(sandbox: Sandbox, hook: Webhook) -> None:
    waits = (wait / sandbox.config.speed for wait in WEBHOOK_RETRY_WAITS)
    if await retry(lambda: _attempt(sandbox, hook), waits):
        return
    hook.delivery.gave_up = True
    log.warning(
        "webhook %s (%s) given up after %d attempts",
        hook.event_id,
        hook.event,
        hook.delivery.attempts,
    )


async def _attempt(sandbox: Sandbox, hook: Webhook) -> bool:
    secret, url = sandbox.config.webhook_secret, sandbox.config.webhook_url
    assert secret is not None and url is not None
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Razorpay-Webhook/v1",
        "X-Razorpay-Signature": hmac_hex(secret, hook.body),
        "X-Razorpay-Event-Id": hook.event_id,
        "Request-Id": hook.event_id,
    }
    hook.delivery.attempts += 1
    answer = await sandbox.outbox.post(url, hook.body, headers)
    hook.delivery.statuses.append(answer.error or str(answer.status))
    hook.delivery.delivered = answer.ok
    return answer.ok

"""Alerts: one structured ERROR log and, when configured, a signed JSON POST; at most once per
alert key per window, agreed across processes through Redis.

Raising: `AlertService.raise_alert(kind, key, details)`. `kind` is a stable upper-case name
(PAYMENT_ERROR_RATE, RECONCILIATION_ISSUE, WEBHOOK_ENDPOINT_DISABLED ...), `key` says which one
(a gateway, a payment id), `details` is JSON-ready data for a human. The first raise of
(kind, key) in a window wins a Redis `SET NX EX window`; later raises in that window, from any
process, return False and do nothing. If Redis cannot be asked, the alert is raised anyway (a
duplicate beats a missed alert).

Delivery (ALERT_WEBHOOK_URL): `POST` of the JSON body with
  X-Paygraph-Timestamp: <unix seconds>
  X-Paygraph-Signature: hex HMAC-SHA256(ALERT_WEBHOOK_SECRET, "<timestamp>.<raw body>")
A receiver recomputes the HMAC over the raw bytes, compares in constant time and rejects stale
timestamps. Transport errors, 429 and 5xx are retried with jittered exponential backoff up to
`delivery_attempts`; other answers are final. A delivery that never succeeds is logged; the
ERROR log line is the record of the alert either way.

The payment error-rate check (`check_error_rate`) runs from an arq cron in the worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from models.clock import utcnow
from services.stats import AttemptOutcomes, StatsService

log = logging.getLogger("paygraph.alerts")

DEDUPE_PREFIX = "paygraph:alert:"
PAYMENT_ERROR_RATE = "PAYMENT_ERROR_RATE"
RECONCILIATION_ISSUE = "RECONCILIATION_ISSUE"
WEBHOOK_ENDPOINT_DISABLED = "WEBHOOK_ENDPOINT_DISABLED"
TIMESTAMP_HEADER = "X-Paygraph-Timestamp"
SIGNATURE_HEADER = "X-Paygraph-Signature"


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    window_seconds: int = 300
    error_rate_threshold: float = 0.05
    min_attempts: int = 10  # fewer attempts in the window than this: too few to judge a rate
    delivery_attempts: int = 4
    delivery_base_delay: float = 0.5
    delivery_max_delay: float = 8.0
    delivery_timeout: float = 3.0


@dataclass(frozen=True, slots=True)
class AlertWebhook:
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    key: str
    details: Mapping[str, Any]
    raised_at: datetime
    window_seconds: int

    def body(self) -> bytes:
        return json.dumps(
            {
                "source": "paygraph",
                "severity": "error",
                "kind": self.kind,
                "key": self.key,
                "raised_at": self.raised_at.isoformat(),
                "window_seconds": self.window_seconds,
                "details": dict(self.details),
            },
            separators=(",", ":"),
            sort_keys=True,
            default=str,
        ).encode()


class AlertRecorder(Protocol):
    def alert_raised(self, kind: str) -> None: ...


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 over `timestamp.body` (the receiver's check is the same computation)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ErrorRateCheck:
    gateway: str
    outcomes: AttemptOutcomes
    alerting: bool  # above the threshold with enough attempts
    raised: bool  # an alert went out now (not deduplicated)


class AlertService:
    def __init__(
        self,
        redis: Redis,
        policy: AlertPolicy | None = None,
        *,
        webhook: AlertWebhook | None = None,
        http: httpx.AsyncClient | None = None,
        stats: StatsService | None = None,
        recorder: AlertRecorder | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._policy = policy or AlertPolicy()
        self._webhook = webhook
        self._http = http if http is not None or webhook is None else httpx.AsyncClient()
        self._owns_http = http is None and self._http is not None
        self._stats = stats or StatsService()
        self._recorder = recorder
        self._sleep = sleep

    @property
    def policy(self) -> AlertPolicy:
        return self._policy

    async def raise_alert(self, kind: str, key: str, details: Mapping[str, Any]) -> bool:
        """Log and deliver the alert unless (kind, key) already fired in this window. Returns
        True when it fired now. Never raises for delivery problems (they are logged)."""
        if not await self._first_in_window(kind, key):
            return False
        alert = Alert(kind, key, details, utcnow(), self._policy.window_seconds)
        log.error(
            "ALERT %s [%s]: %s",
            kind,
            key,
            json.dumps(dict(details), sort_keys=True, default=str),
            extra={
                "alert_kind": kind,
                "alert_key": key,
                "alert_window_seconds": alert.window_seconds,
            },
        )
        if self._recorder is not None:
            self._recorder.alert_raised(kind)
        if self._webhook is not None:
            await self._deliver(alert, self._webhook)
        return True

    async def check_error_rate(self, *, now: datetime | None = None) -> list[ErrorRateCheck]:
        """Per gateway: failed attempts / (failed + completed) over the last window; above the
        threshold with at least `min_attempts` attempts raises PAYMENT_ERROR_RATE for it."""
        now = now or utcnow()
        since = now - timedelta(seconds=self._policy.window_seconds)
        checks = []
        for gateway, outcomes in sorted((await self._stats.attempt_outcomes(since)).items()):
            rate = outcomes.error_rate
            alerting = (
                rate is not None
                and outcomes.attempts >= self._policy.min_attempts
                and rate > self._policy.error_rate_threshold
            )
            raised = False
            if alerting:
                assert rate is not None
                raised = await self.raise_alert(
                    PAYMENT_ERROR_RATE,
                    gateway,
                    {
                        "gateway": gateway,
                        "error_rate": round(rate, 4),
                        "threshold": self._policy.error_rate_threshold,
                        "failed_attempts": outcomes.failed,
                        "completed": outcomes.completed,
                        "window_seconds": self._policy.window_seconds,
                        "since": since.isoformat(),
                    },
                )
            checks.append(ErrorRateCheck(gateway, outcomes, alerting, raised))
        return checks

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()

    async def _first_in_window(self, kind: str, key: str) -> bool:
        try:
            won = await self._redis.set(
                f"{DEDUPE_PREFIX}{kind}:{key}",
                str(time.time()),
                nx=True,
                ex=self._policy.window_seconds,
            )
        except (RedisError, OSError) as exc:
            log.warning("alert dedupe unavailable (%s); raising %s [%s] anyway", exc, kind, key)
            return True
        return bool(won)

    async def _deliver(self, alert: Alert, webhook: AlertWebhook) -> bool:
        assert self._http is not None
        body = alert.body()
        policy = self._policy
        problem = ""
        for attempt in range(1, policy.delivery_attempts + 1):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(webhook.secret, timestamp, body),
            }
            try:
                response = await self._http.post(
                    webhook.url, content=body, headers=headers, timeout=policy.delivery_timeout
                )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 300:
                    return True
                problem = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    break  # the receiver refuses this alert: repeating will not help
            if attempt < policy.delivery_attempts:
                cap = min(
                    policy.delivery_max_delay, policy.delivery_base_delay * 2 ** (attempt - 1)
                )
                await self._sleep(cap / 2 + random.random() * cap / 2)  # noqa: S311 - jitter
        log.error(
            "alert %s [%s] was not delivered to the alert webhook: %s",
            alert.kind,
            alert.key,
            problem,
            extra={"alert_kind": alert.kind, "alert_key": alert.key},
        )
        return False

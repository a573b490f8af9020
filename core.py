"""Composition root shared by the API, the worker and the CLI: the only place concrete clients,
adapters and services are built.

`build_core(settings)` gives a `Core` (MongoDB and Redis clients, the gateways wrapped in their
instrumentation and call policy, the job queue and every service). app.py serves it over HTTP,
workers/ runs its jobs, cli/ runs its commands; none of them imports another.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient
from redis.asyncio import BlockingConnectionPool, Redis
from starlette.routing import Mount

from gateways.base import Gateway, PaymentGateway
from gateways.circuit import CircuitBreaker
from gateways.instrumented import GatewayCallRecorder, InstrumentedGateway
from gateways.paypal.adapter import PayPalGateway
from gateways.paypal.config import PayPalConfig
from gateways.policy import CallPolicy, with_call_policy
from gateways.razorpay.adapter import RazorpayGateway
from gateways.razorpay.config import RazorpayConfig
from gateways.registry import GatewayRegistry
from infra.db import connect_mongo
from infra.metrics import PaygraphMetrics
from schema import Limits
from services.alerts import AlertPolicy, AlertService, AlertWebhook
from services.auth import TokenConfig, TokenService
from services.crypto import TokenVault
from services.events import EventBus
from services.events_out import DeliveryPolicy, EventsOutService
from services.observers import ChangeObservers
from services.payments import PaymentPolicy, PaymentService
from services.ratelimit import RateLimiter
from services.reconciliation import ReconciliationPolicy, ReconciliationService
from services.refunds import RefundPolicy, RefundService
from services.saved_methods import SavedMethodService
from services.stats import StatsService
from services.webhooks import WebhookInbox, WebhookPolicy, WebhookProcessor
from settings import ConfigurationError, Settings
from workers.queue import (
    EVENTS_QUEUE_NAME,
    JOB_TIMEOUT_SECONDS,
    QUEUE_NAME,
    REFUND_QUEUE_NAME,
    ArqJobQueue,
    in_progress_timeout_seconds,
)

log = logging.getLogger("paygraph.core")


def build_token_service(settings: Settings) -> TokenService:
    if settings.jwt_public_key:
        config = TokenConfig(
            algorithm="RS256",
            verify_key=settings.jwt_public_key,
            signing_key=settings.jwt_private_key,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    elif settings.jwt_secret:
        config = TokenConfig(
            algorithm="HS256",
            verify_key=settings.jwt_secret,
            signing_key=settings.jwt_secret,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    else:
        raise ConfigurationError(
            "JWT_SECRET or JWT_PUBLIC_KEY must be set (`paygraph dev` generates a development one)"
        )
    return TokenService(config)


def schema_limits(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        introspection=not settings.is_production,
    )


@dataclass
class GatewaySetup:
    registry: GatewayRegistry
    mounts: list[Mount]
    sandboxes: list[Any]  # sandbox state objects with aclose()
    breakers: dict[Gateway, CircuitBreaker]


def sandbox_credentials(settings: Settings) -> Settings:
    """Development and test without gateway keys: generated test values for the sandboxes."""
    if not settings.sandbox_enabled:
        return settings
    generated: dict[str, Any] = {}
    if not settings.razorpay_key_id:
        generated["razorpay_key_id"] = "rzp_test_" + secrets.token_hex(7)
        generated["razorpay_key_secret"] = secrets.token_urlsafe(18)
    if not settings.razorpay_webhook_secret:
        generated["razorpay_webhook_secret"] = secrets.token_urlsafe(18)
    if not settings.paypal_client_id:
        generated["paypal_client_id"] = "sb-" + secrets.token_hex(10)
        generated["paypal_client_secret"] = secrets.token_urlsafe(24)
    if not settings.paypal_webhook_id:
        generated["paypal_webhook_id"] = "WH-SANDBOX-" + secrets.token_hex(6).upper()
    return settings.model_copy(update=generated) if generated else settings


def _base_url(url: str | None) -> dict[str, Any]:
    """The adapter config's base_url when one is configured; else its own default (the real
    gateway's host)."""
    return {"base_url": url} if url else {}


def call_policy(settings: Settings) -> CallPolicy:
    return CallPolicy(max_in_flight=settings.gateway_max_in_flight)


def build_gateways(
    settings: Settings,
    *,
    serve_sandboxes: bool = True,
    recorder: GatewayCallRecorder | None = None,
    policy: CallPolicy | None = None,
) -> GatewaySetup:
    """Adapters for both gateways, each instrumented (one report per try) inside the one call
    policy; in development and test, the sandboxes they talk to when no gateway URL is
    configured (mounted under /sandbox on the API server; a worker built with
    serve_sandboxes=False talks to the API's). The sandboxes are imported only when served."""
    self_url = f"http://127.0.0.1:{settings.port}"
    webhooks = settings.webhook_url or f"{self_url}/api/webhooks"
    mounts: list[Mount] = []
    sandboxes: list[Any] = []
    registry = GatewayRegistry()

    razorpay_url = settings.razorpay_api_url
    if razorpay_url is None and settings.sandbox_enabled:
        razorpay_url = f"{self_url}/sandbox/razorpay"
    if razorpay_url == f"{self_url}/sandbox/razorpay" and serve_sandboxes:
        from gateways.sandbox.razorpay import RazorpaySandboxConfig, create_razorpay_sandbox

        assert settings.razorpay_key_id and settings.razorpay_key_secret
        app = create_razorpay_sandbox(
            RazorpaySandboxConfig(
                key_id=settings.razorpay_key_id,
                key_secret=settings.razorpay_key_secret,
                webhook_secret=settings.razorpay_webhook_secret,
                webhook_url=f"{webhooks}/razorpay",
            )
        )
        mounts.append(Mount("/sandbox/razorpay", app=app))
        sandboxes.append(app.state.razorpay_sandbox)
    if settings.razorpay_key_id and settings.razorpay_key_secret:
        registry.register(
            RazorpayGateway(
                RazorpayConfig(
                    key_id=settings.razorpay_key_id,
                    key_secret=settings.razorpay_key_secret,
                    webhook_secret=settings.razorpay_webhook_secret,
                    connect_timeout=settings.gateway_connect_timeout_seconds,
                    read_timeout=settings.gateway_read_timeout_seconds,
                    **_base_url(razorpay_url),
                )
            )
        )

    paypal_url = settings.paypal_api_url
    if paypal_url is None and settings.sandbox_enabled:
        paypal_url = f"{self_url}/sandbox/paypal"
    if paypal_url == f"{self_url}/sandbox/paypal" and serve_sandboxes:
        from gateways.sandbox.paypal import PayPalSandboxConfig, create_paypal_sandbox

        assert settings.paypal_client_id and settings.paypal_client_secret
        app = create_paypal_sandbox(
            PayPalSandboxConfig(
                client_id=settings.paypal_client_id,
                client_secret=settings.paypal_client_secret,
                webhook_id=settings.paypal_webhook_id or "WH-SANDBOX",
                webhook_url=f"{webhooks}/paypal",
            )
        )
        mounts.append(Mount("/sandbox/paypal", app=app))
        sandboxes.append(app.state.paypal_sandbox)
    if settings.paypal_client_id and settings.paypal_client_secret:
        registry.register(
            PayPalGateway(
                PayPalConfig(
                    client_id=settings.paypal_client_id,
                    client_secret=settings.paypal_client_secret,
                    return_url=settings.paypal_return_url,
                    cancel_url=settings.paypal_cancel_url,
                    webhook_id=settings.paypal_webhook_id,
                    connect_timeout=settings.gateway_connect_timeout_seconds,
                    read_timeout=settings.gateway_read_timeout_seconds,
                    **_base_url(paypal_url),
                )
            )
        )
    adapters: list[PaymentGateway] = list(registry)
    if recorder is not None:  # every try timed and classified, no adapter touched
        adapters = [InstrumentedGateway(adapter, recorder) for adapter in adapters]
    adapters, breakers = with_call_policy(adapters, policy or call_policy(settings))
    return GatewaySetup(GatewayRegistry(adapters), mounts, sandboxes, breakers)


def token_vault(settings: Settings) -> TokenVault:
    """Encryption at rest (saved-method tokens, webhook endpoint secrets) under ENCRYPTION_KEYS
    (required in production). Without keys in development and test, an ephemeral key: what it
    encrypted outlives it unreadable, and another process cannot read it."""
    if settings.fernet_keys:
        return TokenVault(settings.fernet_keys)
    if settings.is_production:
        raise ConfigurationError("ENCRYPTION_KEYS must be set in production")
    log.warning(
        "ENCRYPTION_KEYS is not set: saved payment methods and webhook endpoint secrets are "
        "encrypted with a key that lives only as long as this process (set ENCRYPTION_KEYS to "
        "keep them usable, and to let workers sign with the API's endpoint secrets)"
    )
    return TokenVault.ephemeral()


def alert_policy(settings: Settings) -> AlertPolicy:
    return AlertPolicy(
        window_seconds=settings.alert_window_seconds,
        error_rate_threshold=settings.alert_error_rate_threshold,
        min_attempts=settings.alert_min_attempts,
    )


def alert_webhook(settings: Settings) -> AlertWebhook | None:
    if not settings.alert_webhook_url or not settings.alert_webhook_secret:
        return None  # settings refuse a URL without a secret
    return AlertWebhook(settings.alert_webhook_url, settings.alert_webhook_secret)


def payment_policy(settings: Settings) -> PaymentPolicy:
    return PaymentPolicy(
        max_attempts=settings.payment_max_attempts,
        timeout_minutes=settings.payment_timeout_minutes,
        late_payment_policy=settings.late_payment_policy,
        return_origins=frozenset(settings.cors_origins),
    )


def reconciliation_policy(settings: Settings) -> ReconciliationPolicy:
    return ReconciliationPolicy(
        pending_after=timedelta(seconds=settings.reconcile_pending_after_seconds),
        refund_timeout=timedelta(hours=settings.refund_timeout_hours),
        closed_lookback=timedelta(hours=settings.reconcile_closed_lookback_hours),
    )


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        schedule=tuple(timedelta(seconds=s) for s in settings.webhook_retry_schedule),
        timeout=settings.webhook_timeout_seconds,
    )


@dataclass
class Core:
    """Clients and services shared by the API and the worker (both build it here)."""

    settings: Settings
    mongo: AsyncMongoClient[dict[str, Any]]
    redis: Redis
    pubsub_redis: Redis
    events: EventBus  # publishes changes; its subscriptions share one pub/sub connection
    gateways: GatewaySetup
    queue: ArqJobQueue
    payments: PaymentService
    saved_methods: SavedMethodService
    refunds: RefundService
    inbox: WebhookInbox
    processor: WebhookProcessor
    metrics: PaygraphMetrics
    stats: StatsService
    alerts: AlertService
    reconciliation: ReconciliationService
    events_out: EventsOutService

    async def refresh_queue_depth(self) -> None:
        """The queue-depth gauge, read from Redis just before a metrics scrape."""
        await self.metrics.refresh_queue_depth(
            self.redis, QUEUE_NAME, REFUND_QUEUE_NAME, EVENTS_QUEUE_NAME
        )

    async def aclose(self) -> None:
        for sandbox in self.gateways.sandboxes:
            await sandbox.aclose()
        await self.events_out.aclose()
        await self.alerts.aclose()
        await self.gateways.registry.aclose()
        await self.queue.aclose()
        await self.events.aclose()
        await self.pubsub_redis.aclose()
        await self.redis.aclose()
        await self.mongo.close()


def build_core(settings: Settings, *, serve_sandboxes: bool = True) -> Core:
    if not settings.mongodb_url:
        raise ConfigurationError("MONGODB_URL must be set (`paygraph dev` starts an embedded one)")
    if not settings.redis_url:
        raise ConfigurationError("REDIS_URL must be set (`paygraph dev` starts an embedded one)")
    mongodb_url, redis_url = settings.mongodb_url, settings.redis_url
    settings = sandbox_credentials(settings)
    mongo = connect_mongo(mongodb_url)
    # A blocking pool checks connections outside its lock (the default pool serialises every
    # command behind it under load) and caps connections instead of failing.
    redis = Redis(
        connection_pool=BlockingConnectionPool.from_url(
            redis_url,
            max_connections=64,
            timeout=5,
            socket_connect_timeout=2,
            socket_timeout=5,
        )
    )
    # The one pub/sub connection every subscription of this process shares (services/fanout.py).
    pubsub_redis = Redis.from_url(redis_url, socket_connect_timeout=2)
    metrics = PaygraphMetrics()  # this process's registry (README: per-process scrape)
    gateways = build_gateways(settings, serve_sandboxes=serve_sandboxes, recorder=metrics)
    metrics.watch_breakers(gateways.breakers)
    stats = StatsService()
    alerts = AlertService(
        redis,
        alert_policy(settings),
        webhook=alert_webhook(settings),
        stats=stats,
        recorder=metrics,
    )
    queue = ArqJobQueue(
        redis_url,
        in_progress_timeout_s=in_progress_timeout_seconds(),
        webhook_timeout_s=JOB_TIMEOUT_SECONDS,
    )
    vault = token_vault(settings)
    saved_methods = SavedMethodService(gateways.registry, vault)
    events = EventBus(redis, subscriber=pubsub_redis)
    events_out = EventsOutService(
        vault,
        queue,
        redis,
        public_only=settings.is_production,
        policy=delivery_policy(settings),
        alerts=alerts,
        recorder=metrics,
    )
    # Every applied change is counted, and its outbound events are relayed right after it.
    observer = ChangeObservers(metrics, events_out.nudge)
    refunds = RefundService(
        gateways.registry,
        events,
        queue,
        RefundPolicy(timeout_hours=settings.refund_timeout_hours),
        observer=observer,
    )
    payments = PaymentService(
        gateways.registry,
        events,
        payment_policy(settings),
        limiter=RateLimiter(redis, settings.initiate_rate_limit, name="initiate"),
        saved_methods=saved_methods,
        late_refunds=refunds,
        alerts=alerts,
        observer=observer,
    )
    return Core(
        settings=settings,
        mongo=mongo,
        redis=redis,
        pubsub_redis=pubsub_redis,
        events=events,
        gateways=gateways,
        queue=queue,
        payments=payments,
        saved_methods=saved_methods,
        refunds=refunds,
        inbox=WebhookInbox(
            queue,
            WebhookPolicy(
                payload_retention=timedelta(days=settings.webhook_payload_retention_days)
            ),
        ),
        processor=WebhookProcessor(payments, refunds=refunds),
        metrics=metrics,
        stats=stats,
        alerts=alerts,
        reconciliation=ReconciliationService(
            payments,
            refunds,
            gateways.registry,
            redis,
            reconciliation_policy(settings),
            alerts=alerts,
            recorder=metrics,
        ),
        events_out=events_out,
    )

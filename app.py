"""Composition root: builds the Starlette app, its clients and services. No business logic."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from gateways.paypal.adapter import PayPalGateway
from gateways.paypal.config import PayPalConfig
from gateways.razorpay.adapter import RazorpayGateway
from gateways.razorpay.config import RazorpayConfig
from gateways.registry import GatewayRegistry
from gateways.sandbox.paypal import PayPalSandboxConfig, create_paypal_sandbox
from gateways.sandbox.razorpay import RazorpaySandboxConfig, create_razorpay_sandbox

from infra.db import connect_mongo, init_models
from infra.http import BodyLimitMiddleware, HttpMetrics, MetricsMiddleware, RequestIdMiddleware
from resolvers import graphql_schema
from resolvers.context import AppServices
from resolvers.graphql_view import PaygraphGraphQL
from resolvers.probes import healthz, metrics_endpoint, readyz_endpoint
from schema import Limits
from services.auth import TokenConfig, TokenService
from services.events import EventBus
from services.health import HealthService
from services.payments import PaymentPolicy, PaymentService
from services.ratelimit import RateLimiter
from settings import ConfigurationError, Settings

log = logging.getLogger("paygraph.app")


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


def build_gateways(settings: Settings) -> GatewaySetup:
    """Adapters for both gateways; in development and test, the sandboxes they talk to when no
    gateway URL is configured (mounted under /sandbox on this same server)."""
    self_url = f"http://127.0.0.1:{settings.port}"
    mounts: list[Mount] = []
    sandboxes: list[Any] = []
    registry = GatewayRegistry()

    razorpay_url = settings.razorpay_api_url
    if razorpay_url is None and settings.sandbox_enabled:
        assert settings.razorpay_key_id and settings.razorpay_key_secret
        app = create_razorpay_sandbox(
            RazorpaySandboxConfig(
                key_id=settings.razorpay_key_id,
                key_secret=settings.razorpay_key_secret,
                webhook_secret=settings.razorpay_webhook_secret,
                webhook_url=settings.webhook_url and f"{settings.webhook_url}/razorpay",
            )
        )
        mounts.append(Mount("/sandbox/razorpay", app=app))
        sandboxes.append(app.state.razorpay_sandbox)
        razorpay_url = f"{self_url}/sandbox/razorpay"
    if settings.razorpay_key_id and settings.razorpay_key_secret:
        registry.register(
            RazorpayGateway(
                RazorpayConfig(
                    key_id=settings.razorpay_key_id,
                    key_secret=settings.razorpay_key_secret,
                    webhook_secret=settings.razorpay_webhook_secret,
                    connect_timeout=settings.gateway_connect_timeout_seconds,
                    read_timeout=settings.gateway_read_timeout_seconds,
                    **({"base_url": razorpay_url} if razorpay_url else {}),
                )
            )
        )

    paypal_url = settings.paypal_api_url
    if paypal_url is None and settings.sandbox_enabled:
        assert settings.paypal_client_id and settings.paypal_client_secret
        app = create_paypal_sandbox(
            PayPalSandboxConfig(
                client_id=settings.paypal_client_id,
                client_secret=settings.paypal_client_secret,
                webhook_id=settings.paypal_webhook_id or "WH-SANDBOX",
                webhook_url=settings.webhook_url and f"{settings.webhook_url}/paypal",
            )
        )
        mounts.append(Mount("/sandbox/paypal", app=app))
        sandboxes.append(app.state.paypal_sandbox)
        paypal_url = f"{self_url}/sandbox/paypal"
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
                    **({"base_url": paypal_url} if paypal_url else {}),
                )
            )
        )
    return GatewaySetup(registry, mounts, sandboxes)


def payment_policy(settings: Settings) -> PaymentPolicy:
    return PaymentPolicy(
        max_attempts=settings.payment_max_attempts,
        timeout_minutes=settings.payment_timeout_minutes,
    )


def create_app(settings: Settings) -> Starlette:
    if not settings.mongodb_url:
        raise ConfigurationError("MONGODB_URL must be set (`paygraph dev` starts an embedded one)")
    if not settings.redis_url:
        raise ConfigurationError("REDIS_URL must be set (`paygraph dev` starts an embedded one)")

    settings = sandbox_credentials(settings)
    mongo = connect_mongo(settings.mongodb_url)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    # Subscriptions block on pub/sub reads: give them a connection pool without a read timeout.
    pubsub_redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    health = HealthService(mongo, redis)
    gateways = build_gateways(settings)
    payments = PaymentService(
        gateways.registry,
        EventBus(pubsub_redis),
        payment_policy(settings),
        limiter=RateLimiter(redis, settings.initiate_rate_limit, name="initiate"),
    )
    services = AppServices(tokens=build_token_service(settings), health=health, payments=payments)
    registry = CollectorRegistry()

    graphql = PaygraphGraphQL(
        graphql_schema(schema_limits(settings)),
        services,
        development=not settings.is_production,
    )
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz_endpoint(health), methods=["GET"]),
        Route("/metrics", metrics_endpoint(registry), methods=["GET"]),
        *gateways.mounts,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.warn_about_gaps()
        await init_models(mongo, settings.mongodb_db)
        log.info("paygraph API ready (%s)", settings.app_env.value)
        try:
            yield
        finally:
            for sandbox in gateways.sandboxes:
                await sandbox.aclose()
            await gateways.registry.aclose()
            await pubsub_redis.aclose()
            await redis.aclose()
            await mongo.close()

    known = frozenset(route.path for route in routes if isinstance(route, Route))
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(MetricsMiddleware, metrics=HttpMetrics(registry), known_routes=known),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
        ],
    )

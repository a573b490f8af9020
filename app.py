"""Composition root: builds the Starlette app, its clients and services. No business logic."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from infra.db import connect_mongo, init_models
from infra.http import BodyLimitMiddleware, HttpMetrics, MetricsMiddleware, RequestIdMiddleware
from resolvers import graphql_schema
from resolvers.context import AppServices
from resolvers.graphql_view import PaygraphGraphQL
from resolvers.probes import healthz, metrics_endpoint, readyz_endpoint
from schema import Limits
from services.auth import TokenConfig, TokenService
from services.health import HealthService
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


def create_app(settings: Settings) -> Starlette:
    if not settings.mongodb_url:
        raise ConfigurationError("MONGODB_URL must be set (`paygraph dev` starts an embedded one)")
    if not settings.redis_url:
        raise ConfigurationError("REDIS_URL must be set (`paygraph dev` starts an embedded one)")

    mongo = connect_mongo(settings.mongodb_url)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    health = HealthService(mongo, redis)
    services = AppServices(tokens=build_token_service(settings), health=health)
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
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.warn_about_gaps()
        await init_models(mongo, settings.mongodb_db)
        log.info("paygraph API ready (%s)", settings.app_env.value)
        try:
            yield
        finally:
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

"""The Starlette app: routes, middleware and lifespan over the Core that core.py builds.
No business logic, and nothing constructed here but HTTP pieces."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from core import Core, build_core, build_token_service, schema_limits
from gateways.base import Gateway
from infra.admission import AdmissionMiddleware
from infra.db import init_models
from infra.http import EdgeMiddleware
from resolvers import graphql_schema
from resolvers.context import AppServices
from resolvers.demo import demo_routes
from resolvers.graphql_view import PaygraphGraphQL
from resolvers.probes import healthz, metrics_endpoint, readyz_endpoint
from resolvers.trusted_documents import TrustedDocuments
from resolvers.webhooks import webhook_route
from services.health import HealthService
from settings import Settings, load_settings

log = logging.getLogger("paygraph.app")


def webhook_routes(core: Core) -> list[BaseRoute]:
    """The seed's REST webhook paths; a gateway whose webhook secret is unset answers 404."""
    disabled = set(core.settings.disabled_webhooks())
    registry = core.gateways.registry
    routes: list[BaseRoute] = []
    for gateway, path in (
        (Gateway.RAZORPAY, "/api/webhooks/razorpay"),
        (Gateway.PAYPAL, "/api/webhooks/paypal"),
    ):
        enabled = gateway.value.lower() not in disabled and gateway in registry
        adapter = registry.get(gateway) if enabled else None
        routes.append(webhook_route(path, adapter, core.inbox, recorder=core.metrics))
    return routes


def create_app(settings: Settings) -> Starlette:
    # First: a manifest that cannot be trusted stops startup before anything is connected.
    trusted_documents = TrustedDocuments.load(
        settings.trusted_documents_path, only=settings.trusted_documents_only
    )
    core = build_core(settings)
    settings = core.settings
    mongo, redis, gateways, payments = core.mongo, core.redis, core.gateways, core.payments
    health = HealthService(mongo, redis)
    services = AppServices(
        tokens=build_token_service(settings),
        health=health,
        payments=payments,
        saved_methods=core.saved_methods,
        refunds=core.refunds,
        webhooks=core.inbox,
        stats=core.stats,
        reconciliation=core.reconciliation,
        events_out=core.events_out,
    )

    graphql = PaygraphGraphQL(
        graphql_schema(schema_limits(settings)),
        services,
        development=not settings.is_production,
        allowed_origins=settings.cors_origins,
        trusted_documents=trusted_documents,
    )
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz_endpoint(health), methods=["GET"]),
        Route(
            "/metrics",
            metrics_endpoint(
                core.metrics.registry,
                before_scrape=core.refresh_queue_depth,
            ),
            methods=["GET"],
        ),
        *webhook_routes(core),
        *gateways.mounts,
        # The checkout demo and its token endpoint: never in production.
        *(
            []
            if settings.is_production
            else demo_routes(services.tokens, frozenset(settings.cors_origins))
        ),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.warn_about_gaps()
        await init_models(mongo, settings.mongodb_db)
        log.info("paygraph API ready (%s)", settings.app_env.value)
        try:
            yield
        finally:
            await core.aclose()

    known = frozenset(route.path for route in routes if isinstance(route, Route))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(
                EdgeMiddleware,
                metrics=core.metrics.http,
                known_routes=known,
                max_bytes=settings.max_body_bytes,
                origins=settings.cors_origins,
                cors_paths=("/graphql", "/demo/token"),
            ),
            Middleware(
                AdmissionMiddleware,
                max_in_flight=settings.http_max_in_flight,
                wait_ms=settings.http_admission_wait_ms,
                registry=core.metrics.registry,
            ),
        ],
    )
    app.state.core = core  # what the app serves, for probes of tests and tools
    app.state.prepared = graphql.prepared
    return app


def create_app_from_env() -> Starlette:
    """uvicorn's factory (`paygraph serve` and `paygraph dev` pass "app:create_app_from_env"):
    Settings from the environment and .env, which the command prepared (dev.env, sandbox keys)."""
    return create_app(load_settings())

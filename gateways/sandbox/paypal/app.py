"""`create_paypal_sandbox(config)`: the Starlette app from the pieces."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from gateways.sandbox.common.app import sandbox_app
from gateways.sandbox.paypal import api, checkout, control
from gateways.sandbox.paypal.api import ORDER_KEY_TTL, PAYMENT_KEY_TTL, endpoint
from gateways.sandbox.paypal.config import PayPalSandboxConfig
from gateways.sandbox.paypal.errors import Reply, fault_response, reply
from gateways.sandbox.paypal.state import Sandbox
from gateways.sandbox.paypal.webhooks import Signer


def create_paypal_sandbox(config: PayPalSandboxConfig) -> Starlette:
    """Build the sandbox app. `app.state.paypal_sandbox` is the state behind it: an owner that
    mounts the app (sub-app lifespans do not run) should await its aclose() on shutdown to
    stop webhook retries still in flight."""
    sandbox = Sandbox(config, Signer())
    routes = [
        Route("/v1/oauth2/token", endpoint(api.token, auth=False), methods=["POST"]),
        Route(
            "/v2/checkout/orders",
            endpoint(api.create_order, json_post=True, idempotent=ORDER_KEY_TTL),
            methods=["POST"],
        ),
        Route("/v2/checkout/orders/{order_id}", endpoint(api.get_order), methods=["GET"]),
        Route(
            "/v2/checkout/orders/{order_id}/capture",
            endpoint(api.capture_order, json_post=True, idempotent=ORDER_KEY_TTL),
            methods=["POST"],
        ),
        Route(
            "/v2/payments/captures/{capture_id}/refund",
            endpoint(api.refund_capture, json_post=True, idempotent=PAYMENT_KEY_TTL),
            methods=["POST"],
        ),
        Route("/v2/payments/captures/{capture_id}", endpoint(api.get_capture), methods=["GET"]),
        Route("/v2/payments/refunds/{refund_id}", endpoint(api.get_refund), methods=["GET"]),
        Route(
            "/v1/notifications/verify-webhook-signature",
            endpoint(api.verify_webhook_signature, json_post=True),
            methods=["POST"],
        ),
        Route(
            "/v1/notifications/certs/{cert_id}",
            endpoint(api.cert, auth=False),
            methods=["GET"],
        ),
        Route("/checkoutnow", endpoint(checkout.checkout_page, auth=False), methods=["GET"]),
        Route(
            "/checkoutnow",
            endpoint(checkout.checkout_action, auth=False, json_post=True),
            methods=["POST"],
        ),
    ]
    return sandbox_app(
        sandbox,
        attribute="paypal_sandbox",
        routes=routes,
        answer_fault=fault_response,
        snapshot=control.snapshot,
        act=control.act,
        middleware=[Middleware(control.RequestCounter, routes=routes, sandbox=sandbox)],
        exception_handlers={Reply: reply},
    )

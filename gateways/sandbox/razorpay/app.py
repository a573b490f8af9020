"""`create_razorpay_sandbox(config)`: the Starlette app from the pieces."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route

from gateways.sandbox.common.app import sandbox_app
from gateways.sandbox.razorpay import api, checkout, control
from gateways.sandbox.razorpay.config import RazorpaySandboxConfig
from gateways.sandbox.razorpay.errors import ApiError, api_error, fault_response, not_found
from gateways.sandbox.razorpay.state import Sandbox


def create_razorpay_sandbox(config: RazorpaySandboxConfig) -> Starlette:
    """Build the sandbox app. Its state lives on `app.state.razorpay_sandbox`; call its
    `aclose()` when mounted inside another app (a mounted app's lifespan does not run) to
    cancel pending webhook deliveries."""
    secured = api.authenticated
    routes = [
        Route("/v1/orders", secured(api.create_order), methods=["POST"]),
        Route("/v1/orders", secured(api.list_orders), methods=["GET"]),
        Route("/v1/orders/{order_id}", secured(api.fetch_order), methods=["GET"]),
        Route("/v1/orders/{order_id}/payments", secured(api.order_payments), methods=["GET"]),
        Route("/v1/payments/{payment_id}", secured(api.fetch_payment), methods=["GET"]),
        Route("/v1/payments/{payment_id}/capture", secured(api.capture_payment), methods=["POST"]),
        Route("/v1/payments/{payment_id}/refund", secured(api.create_refund), methods=["POST"]),
        Route("/v1/payments/{payment_id}/refunds", secured(api.payment_refunds), methods=["GET"]),
        Route(
            "/v1/payments/{payment_id}/refunds/{refund_id}",
            secured(api.payment_refund),
            methods=["GET"],
        ),
        Route("/v1/refunds", secured(api.list_refunds), methods=["GET"]),
        Route("/v1/refunds/{refund_id}", secured(api.fetch_refund), methods=["GET"]),
        Route("/v1/methods", api.methods, methods=["GET"]),
        Route("/v1/checkout.js", checkout.checkout_script, methods=["GET"]),
        Route("/checkout/{order_id}", checkout.checkout_page, methods=["GET"]),
        Route("/checkout/{order_id}/pay", checkout.checkout_pay, methods=["POST"]),
        Route("/static/{name}", checkout.static_asset, methods=["GET"]),
    ]
    return sandbox_app(
        Sandbox(config),
        attribute="razorpay_sandbox",
        routes=routes,
        answer_fault=fault_response,
        snapshot=control.snapshot,
        act=control.act,
        exception_handlers={ApiError: api_error, HTTPException: not_found},
    )

"""The checkout demo (development and test only): the static page under /demo, the endpoint that
gives it a short-lived development token, and the default PayPal return paths leading back to it.

The page is a client like any shop's: it talks to the API only through /graphql (HTTP and
graphql-transport-ws) and sends card data only to the sandbox's checkout stand-in. Nothing here is
mounted in production, where these paths answer 404 like any unknown path."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from services.auth import TokenService

STATIC_DIR = Path(__file__).resolve().parent.parent / "demo"
TOKEN_TTL_SECONDS = 3600
_CUSTOMER_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def _trusted_origin(request: Request, allowed: frozenset[str]) -> bool:
    # A page on an origin we do not trust must not obtain tokens: browsers send Origin on
    # cross-site POSTs, and a JSON body forces a CORS preflight only CORS_ALLOW_ORIGINS pass.
    origin = request.headers.get("origin")
    if origin is None or origin in allowed:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def token_endpoint(tokens: TokenService, allowed_origins: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
    async def mint(request: Request) -> Response:
        if not _trusted_origin(request, allowed_origins):
            return JSONResponse({"error": "cross-origin token requests are refused"}, 403)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send a JSON body"}, 415)
        try:
            body = json.loads(await request.body() or b"{}")
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "the body is not JSON"}, 400)
        customer = body.get("customerId") if isinstance(body, dict) else None
        admin = body.get("admin", False) if isinstance(body, dict) else None
        if not isinstance(customer, str) or not _CUSTOMER_RE.match(customer):
            return JSONResponse(
                {"error": "customerId: 1-64 letters, digits, or . _ @ -", "field": "customerId"},
                400,
            )
        if not isinstance(admin, bool):
            return JSONResponse({"error": "admin must be true or false", "field": "admin"}, 400)
        token = tokens.mint(customer, admin=admin, ttl_seconds=TOKEN_TTL_SECONDS)
        return JSONResponse(
            {
                "token": token,
                "customerId": customer,
                "admin": admin,
                "expiresIn": TOKEN_TTL_SECONDS,
            },
            headers={"Cache-Control": "no-store"},
        )

    return mint


def _paypal_return(outcome: str):  # type: ignore[no-untyped-def]
    async def back_to_demo(request: Request) -> Response:
        query = {"paypal": outcome, "token": request.query_params.get("token", "")}
        return RedirectResponse(f"/demo/?{urlencode(query)}", status_code=303)

    return back_to_demo


def demo_routes(
    tokens: TokenService, allowed_origins: frozenset[str] = frozenset()
) -> list[BaseRoute]:
    """Routes of the demo; the caller mounts them outside production only. Pages on
    `allowed_origins` (CORS_ALLOW_ORIGINS: a shop's dev server) may get development tokens."""
    if not (STATIC_DIR / "index.html").is_file():  # an installed wheel ships without the page
        return []
    return [
        Route("/demo", lambda request: RedirectResponse("/demo/", 307), methods=["GET"]),
        Route("/demo/token", token_endpoint(tokens, allowed_origins), methods=["POST"]),
        # PAYPAL_RETURN_URL and PAYPAL_CANCEL_URL default to these paths of `paygraph dev`.
        Route("/checkout/success", _paypal_return("approved"), methods=["GET"]),
        Route("/checkout/cancel", _paypal_return("cancelled"), methods=["GET"]),
        # Browsers ask every page's origin for one (the PayPal sandbox's page too): none here.
        Route("/favicon.ico", lambda request: Response(status_code=204), methods=["GET"]),
        Mount("/demo", StaticFiles(directory=STATIC_DIR, html=True), name="demo"),
    ]

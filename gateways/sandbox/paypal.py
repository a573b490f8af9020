"""A local PayPal for offline tests and development: PayPal's own REST paths, in memory.

Mount it anywhere (the app mounts it at /sandbox/paypal); it serves PayPal's paths relative
to its mount, so the PayPal adapter with base_url "http://HOST/sandbox/paypal" talks to it
as it would to api-m.paypal.com. It is written from PayPal's documentation, independently of
gateways/paypal, so the two can disagree and a test can catch it.

What it reproduces (see reference/paypal.md §10):
- OAuth client credentials (HTTP Basic; 401 invalid_client), tokens with a settable
  expires_in (default 32400 s); expired or revoked tokens answer 401 invalid_token.
- Orders v2: create (CREATED + rel "approve" without payment_source, PAYER_ACTION_REQUIRED +
  rel "payer-action" with payment_source.paypal.experience_context), get, capture
  (ORDER_NOT_APPROVED / ORDER_ALREADY_CAPTURED 422; capture outcome COMPLETED, PENDING or
  DECLINED chosen via /_control). Ids are 17 characters of [A-Z0-9].
- Payments v2: captures and refunds (full or partial; REFUND_AMOUNT_EXCEEDED,
  CAPTURE_FULLY_REFUNDED, PENDING_CAPTURE, currency and precision checks).
- Idempotency keyed by (path, PayPal-Request-Id): a repeat answers 200 with the stored body;
  a repeat while the first is still running answers 409 PREVIOUS_REQUEST_IN_PROGRESS. Only
  successful answers are stored, so a capture refused as ORDER_NOT_APPROVED can be repeated
  with the same id once the buyer approves.
- PayPal's error envelope (name, message, debug_id, details[], links[]) with a
  Paypal-Debug-Id header; 415 for a JSON POST without Content-Type application/json;
  PayPal-Mock-Response {"mock_application_codes": "ISSUE"} negative testing.
- This merchant cannot receive INR (or any currency not in merchant_currencies):
  422 INVALID_CURRENCY_CODE, PayPal's "Currency code is invalid or is not currently supported".
- The buyer: GET /checkoutnow?token=ID (an HTML page) and POST /checkoutnow?token=ID with
  {"action": "approve" | "cancel"}, answering {"order_id", "status", "redirect_url"}.
- Webhooks to webhook_url with PayPal's envelope and the five PAYPAL-* headers, signed
  SHA256withRSA over "<transmission id>|<time>|<webhook id>|<crc32(raw body)>" with a key and
  self-signed certificate generated at start-up and served at /v1/notifications/certs/<id>;
  non-2xx answers are retried from a background task on a compressed schedule (at most 25
  attempts); POST /v1/notifications/verify-webhook-signature answers SUCCESS only for a
  transmission this sandbox really sent, with the event unchanged.

GET /_control shows counters and settings; POST /_control {"action": ...} injects faults:
  {"action": "reset"}
  {"action": "fail", "path": GLOB, "method"?: M, "status": 500|429|503|..., "count"?: 1}
  {"action": "delay", "path": GLOB, "method"?: M, "seconds": S, "count"?: 1}
      (the request is handled, then the answer waits S seconds: a read timeout that acted)
  {"action": "capture_outcome", "outcome": "COMPLETED"|"PENDING"|"DECLINED", "count"?: N}
      (without count the outcome sticks until reset)
  {"action": "webhooks", "drop"?: N, "duplicate"?: N, "reorder"?: N, "url"?: URL|null}
      (reorder holds the next N events and delivers them newest first)
  {"action": "token_expires_in", "seconds": S}
  {"action": "revoke_tokens"}
  {"action": "settle_capture", "capture_id": ID, "outcome": "COMPLETED"|"DENIED"}
  {"action": "reverse_capture", "capture_id": ID}
GLOB matches the path below the mount point, e.g. "/v2/checkout/orders/*/capture".
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import fnmatch
import hmac
import json
import re
import secrets
import string
import time
import uuid
import zlib
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from gateways.paypal.config import DEFAULT_CURRENCIES

Json = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]

# What PayPal lets this merchant receive: the same fact the adapter is configured with.
DEFAULT_MERCHANT_CURRENCIES: frozenset[str] = DEFAULT_CURRENCIES
_NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})
_VALUE_RE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")
_ID_ALPHABET = string.ascii_uppercase + string.digits
_ORDER_KEY_TTL = 6 * 3600.0
_PAYMENT_KEY_TTL = 45 * 86400.0
_MAX_WEBHOOK_ATTEMPTS = 25

_MESSAGES = {
    "INVALID_REQUEST": "Request is not well-formed, syntactically incorrect, or violates schema.",
    "AUTHENTICATION_FAILURE": "Authentication failed due to invalid authentication "
    "credentials or a missing Authorization header.",
    "NOT_AUTHORIZED": "Authorization failed due to insufficient permissions.",
    "RESOURCE_NOT_FOUND": "The specified resource does not exist.",
    "RESOURCE_CONFLICT": "The server has detected a conflict while processing this request.",
    "UNSUPPORTED_MEDIA_TYPE": "The server does not support the request payload's media type.",
    "UNPROCESSABLE_ENTITY": "The requested action could not be performed, semantically "
    "incorrect, or failed business validation.",
    "RATE_LIMIT_REACHED": "Too many requests. Blocked due to rate limiting.",
    "INTERNAL_SERVER_ERROR": "An internal server error has occurred.",
    "SERVICE_UNAVAILABLE": "Service Unavailable.",
    "VALIDATION_ERROR": "Invalid request - see details",
}
_NAME_BY_STATUS = {
    400: "INVALID_REQUEST",
    401: "AUTHENTICATION_FAILURE",
    403: "NOT_AUTHORIZED",
    404: "RESOURCE_NOT_FOUND",
    409: "RESOURCE_CONFLICT",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    429: "RATE_LIMIT_REACHED",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
_ISSUES_400 = frozenset(
    {
        "INVALID_PARAMETER_VALUE",
        "MISSING_REQUIRED_PARAMETER",
        "INVALID_STRING_LENGTH",
        "INVALID_PARAMETER_SYNTAX",
        "MALFORMED_REQUEST_JSON",
        "INVALID_ARRAY_MAX_ITEMS",
        "INVALID_ARRAY_MIN_ITEMS",
        "INVALID_COUNTRY_CODE",
        "NOT_SUPPORTED",
        "PAYPAL_REQUEST_ID_REQUIRED",
    }
)
_DESCRIPTIONS = {
    "ORDER_NOT_APPROVED": "Payer has not yet approved the Order for payment. Please redirect "
    "the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the "
    "Create Order call or provide a valid payment_source in the request.",
    "ORDER_ALREADY_CAPTURED": "Order already captured. If 'intent=CAPTURE' only one capture "
    "per order is allowed.",
    "INVALID_CURRENCY_CODE": "Currency code is invalid or is not currently supported.",
    "DECIMAL_PRECISION": "If the currency supports decimals, only two decimal place precision "
    "is supported.",
    "CANNOT_BE_ZERO_OR_NEGATIVE": "Must be greater than zero.",
    "DUPLICATE_INVOICE_ID": "Duplicate Invoice ID detected. To avoid a potential duplicate "
    "transaction your account setting requires that Invoice Id be unique for each transaction.",
    "REFUND_AMOUNT_EXCEEDED": "The refund amount must be less than or equal to the capture "
    "amount that has not yet been refunded.",
    "CAPTURE_FULLY_REFUNDED": "The capture has already been fully refunded.",
    "REFUND_CAPTURE_CURRENCY_MISMATCH": "Refund must be in the same currency as the capture.",
    "PENDING_CAPTURE": "Cannot initiate a refund as the capture is pending.",
    "REFUND_NOT_ALLOWED": "Full refund refused - partial refund has already been done on this "
    "payment. You cannot refund this capture.",
    "INSTRUMENT_DECLINED": "The instrument presented was either declined by the processor or "
    "bank, or it can't be used for this payment.",
    "INVALID_RESOURCE_ID": "Specified resource ID does not exist. Please check the resource "
    "ID and try again.",
    "PREVIOUS_REQUEST_IN_PROGRESS": "A previous request on this resource is currently in "
    "progress. Please wait for some time and try again.",
    "MALFORMED_REQUEST_JSON": "The request JSON is not well formed.",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PayPalSandboxConfig:
    client_id: str
    client_secret: str
    webhook_id: str
    # Where this sandbox is reachable, prefix included, e.g.
    # "http://127.0.0.1:8000/sandbox/paypal". None: derived from each request's scheme, host
    # and mount point (the ASGI root_path).
    public_base_url: str | None = None
    webhook_url: str | None = None
    token_expires_in: int = 32400
    merchant_currencies: frozenset[str] = DEFAULT_MERCHANT_CURRENCIES
    unique_invoice_ids: bool = True
    # PayPal retries a failed delivery up to 25 times over 3 days; the sandbox compresses
    # that into base * 2**(attempt - 1) seconds, capped.
    webhook_retry_base: float = 0.05
    webhook_retry_cap: float = 1.0
    webhook_max_attempts: int = _MAX_WEBHOOK_ATTEMPTS
    webhook_timeout: float = 5.0

    def __post_init__(self) -> None:
        if "INR" in self.merchant_currencies:
            raise ValueError("PayPal does not let this merchant receive INR")
        if not 1 <= self.webhook_max_attempts <= _MAX_WEBHOOK_ATTEMPTS:
            raise ValueError("webhook_max_attempts must be within 1..25")


class _Reply(Exception):
    """Raised inside a handler to answer early with a prepared response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(slots=True)
class _Fault:
    kind: str  # "status" | "delay"
    path: str
    method: str | None
    remaining: int
    status: int = 500
    seconds: float = 0.0
    retry_after: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return fnmatch.fnmatchcase(path, self.path)


@dataclass(slots=True)
class _Order:
    id: str
    intent: str
    status: str
    unit: Json  # the purchase unit as PayPal would echo it (amount normalised)
    currency: str
    amount: int  # in PayPal units of the currency (cents, yen)
    style: str  # "approve" (legacy) | "payer-action" (experience_context)
    return_url: str | None
    cancel_url: str | None
    create_time: str
    update_time: str
    payer: Json | None = None
    capture_ids: list[str] = field(default_factory=list)
    refund_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Capture:
    id: str
    order_id: str
    status: str
    currency: str
    amount: int
    refunded: int
    reason: str | None
    custom_id: str | None
    invoice_id: str | None
    create_time: str
    update_time: str


@dataclass(slots=True)
class _Refund:
    id: str
    capture_id: str
    status: str
    currency: str
    amount: int
    total_refunded_after: int
    invoice_id: str | None
    custom_id: str | None
    note_to_payer: str | None
    create_time: str


@dataclass(slots=True)
class _Stored:
    body: Json
    stored_at: float
    ttl: float


@dataclass(slots=True)
class _State:
    token_expires_in: int
    webhook_url: str | None
    tokens: dict[str, float] = field(default_factory=dict)
    token_requests: int = 0
    request_count: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    orders: dict[str, _Order] = field(default_factory=dict)
    captures: dict[str, _Capture] = field(default_factory=dict)
    refunds: dict[str, _Refund] = field(default_factory=dict)
    invoice_ids: set[str] = field(default_factory=set)
    refund_invoice_ids: set[str] = field(default_factory=set)
    idempotency: dict[tuple[str, str], _Stored] = field(default_factory=dict)
    in_flight: set[tuple[str, str]] = field(default_factory=set)
    faults: list[_Fault] = field(default_factory=list)
    capture_outcomes: deque[str] = field(default_factory=deque)
    sticky_capture_outcome: str = "COMPLETED"
    drop_next: int = 0
    duplicate_next: int = 0
    reorder_next: int = 0
    held: list[tuple[Json, str]] = field(default_factory=list)
    events_emitted: int = 0
    deliveries: deque[Json] = field(default_factory=lambda: deque(maxlen=2000))
    transmissions: dict[str, tuple[bytes, str]] = field(default_factory=dict)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now_ms() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _new_id(length: int = 17) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _decimals(currency: str) -> int:
    return 0 if currency in _NO_DECIMALS else 2


def _fmt(units: int, currency: str) -> str:
    places = _decimals(currency)
    if not places:
        return str(units)
    whole, frac = divmod(units, 10**places)
    return f"{whole}.{frac:0{places}d}"


def _money(units: int, currency: str) -> Json:
    return {"currency_code": currency, "value": _fmt(units, currency)}


def _fee(units: int, currency: str) -> int:
    fixed = 49 if _decimals(currency) else 0
    return min(units, (units * 349 + 5000) // 10000 + fixed)


def _error(
    status: int,
    issue: str | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    field_: str | None = None,
    value: object = None,
    location: str = "body",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    name = name or _NAME_BY_STATUS.get(status, "INTERNAL_SERVER_ERROR")
    debug_id = secrets.token_hex(7)[:13]
    body: Json = {"name": name, "message": _MESSAGES.get(name, name), "debug_id": debug_id}
    if issue is not None:
        detail: Json = {
            "issue": issue,
            "description": description or _DESCRIPTIONS.get(issue, issue),
        }
        if field_ is not None:
            detail = {
                "field": field_,
                **({"value": value} if value is not None else {}),
                "location": location,
                **detail,
            }
        body["details"] = [detail]
    body["links"] = [
        {
            "href": f"https://developer.paypal.com/docs/api/orders/v2/#error-{issue or name}",
            "rel": "information_link",
            "method": "GET",
        }
    ]
    return JSONResponse(body, status, headers={"Paypal-Debug-Id": debug_id, **(headers or {})})


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status,
        headers={"Paypal-Debug-Id": secrets.token_hex(7)[:13]},
    )


def _json(body: Json, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, headers={"Paypal-Debug-Id": secrets.token_hex(7)[:13]})


class _Signer:
    """The sandbox's webhook signing identity: an RSA key and a self-signed certificate."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert_id = "CERT-" + "-".join(secrets.token_hex(4) for _ in range(3))
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "paypal-sandbox.invalid")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: bytes) -> str:
        signature = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def verify(self, signature_b64: str, message: bytes) -> bool:
        try:
            signature = base64.b64decode(signature_b64, validate=True)
            self.key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def _signed_message(transmission_id: str, when: str, webhook_id: str, raw: bytes) -> bytes:
    return f"{transmission_id}|{when}|{webhook_id}|{zlib.crc32(raw)}".encode()


class PayPalSandbox:
    """The sandbox's state and handlers; create_paypal_sandbox() wires it into Starlette."""

    def __init__(self, config: PayPalSandboxConfig) -> None:
        self.config = config
        self.signer = _Signer()
        self.state = self._fresh_state()
        self._tasks: set[asyncio.Task[None]] = set()

    def _fresh_state(self) -> _State:
        return _State(
            token_expires_in=self.config.token_expires_in, webhook_url=self.config.webhook_url
        )

    async def aclose(self) -> None:
        """Stop webhook deliveries still in flight (call on shutdown when mounted)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def _rel_path(request: Request) -> str:
        path: str = request.scope["path"]
        root: str = request.scope.get("root_path", "")
        return path[len(root) :] if root and path.startswith(root) else path

    def base_url(self, request: Request) -> str:
        if self.config.public_base_url:
            return self.config.public_base_url.rstrip("/")
        root = request.scope.get("root_path", "")
        return f"{request.url.scheme}://{request.url.netloc}{root}".rstrip("/")

    def api(
        self,
        handler: Handler,
        template: str,
        *,
        auth: bool = True,
        json_post: bool = False,
        idempotent: float | None = None,
    ) -> Handler:
        """Wrap a handler with what every PayPal endpoint shares: counting, injected faults,
        bearer auth, the JSON content-type rule, mock responses and the idempotency store."""

        async def endpoint(request: Request) -> Response:
            state = self.state
            rel = self._rel_path(request)
            state.request_count += 1
            state.requests[f"{request.method} {template}"] += 1
            fault = self._take_fault(request.method, rel)
            if fault is not None and fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                return _error(fault.status, headers=headers)
            try:
                response = await self._guarded(
                    request, rel, handler, auth=auth, json_post=json_post, ttl=idempotent
                )
            except _Reply as reply:
                response = reply.response
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            return response

        return endpoint

    async def _guarded(
        self,
        request: Request,
        rel: str,
        handler: Handler,
        *,
        auth: bool,
        json_post: bool,
        ttl: float | None,
    ) -> Response:
        if auth:
            self._authorize(request)
        if json_post:
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                return _error(415)
        self._mock_response(request)
        request_id = request.headers.get("paypal-request-id") if ttl is not None else None
        if request_id is None or ttl is None:
            return await handler(request)
        key = (rel, request_id)
        stored = self.state.idempotency.get(key)
        if stored is not None and time.monotonic() - stored.stored_at < stored.ttl:
            return _json(stored.body, 200)
        if key in self.state.in_flight:
            return _error(409, "PREVIOUS_REQUEST_IN_PROGRESS")
        self.state.in_flight.add(key)
        try:
            response = await handler(request)
        finally:
            self.state.in_flight.discard(key)
        if 200 <= response.status_code < 300 and isinstance(response, JSONResponse):
            body = json.loads(bytes(response.body))
            self.state.idempotency[key] = _Stored(body, time.monotonic(), ttl)
        return response

    def _take_fault(self, method: str, rel: str) -> _Fault | None:
        for fault in self.state.faults:
            if fault.remaining > 0 and fault.matches(method, rel):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.state.faults.remove(fault)
                return fault
        return None

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Reply(_error(401))
        expires_at = self.state.tokens.get(token.strip())
        if expires_at is None:
            raise _Reply(_oauth_error(401, "invalid_token", "Token signature verification failed"))
        if time.monotonic() >= expires_at:
            raise _Reply(
                _oauth_error(401, "invalid_token", "The token passed in was found to be expired")
            )

    @staticmethod
    def _mock_response(request: Request) -> None:
        raw = request.headers.get("paypal-mock-response")
        if not raw:
            return
        try:
            code = json.loads(raw).get("mock_application_codes")
        except (ValueError, AttributeError):
            raise _Reply(
                _error(
                    400, "INVALID_PARAMETER_VALUE", field_="PayPal-Mock-Response", location="header"
                )
            ) from None
        if not isinstance(code, str) or not code:
            return
        status = (
            400
            if code in _ISSUES_400
            else 404
            if code in {"INVALID_RESOURCE_ID", "RESOURCE_NOT_FOUND"}
            else 409
            if code == "PREVIOUS_REQUEST_IN_PROGRESS"
            else 429
            if code == "RATE_LIMIT_REACHED"
            else 500
            if code == "INTERNAL_SERVER_ERROR"
            else 503
            if code == "SERVICE_UNAVAILABLE"
            else 422
        )
        raise _Reply(_error(status, code if status in {400, 404, 409, 422} else None))

    @staticmethod
    async def _body(request: Request, *, required: bool) -> Json:
        raw = await request.body()
        if not raw.strip():
            if required:
                raise _Reply(_error(400, "MALFORMED_REQUEST_JSON"))
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise _Reply(_error(400, "MALFORMED_REQUEST_JSON")) from None
        if not isinstance(data, dict):
            raise _Reply(_error(400, "MALFORMED_REQUEST_JSON"))
        return data

    @staticmethod
    def _representation(request: Request) -> bool:
        return "return=representation" in request.headers.get("prefer", "").lower()

    def _parse_amount(self, amount: object, pointer: str) -> tuple[int, str]:
        if not isinstance(amount, dict):
            raise _Reply(_error(400, "MISSING_REQUIRED_PARAMETER", field_=pointer))
        currency = amount.get("currency_code")
        value = amount.get("value")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise _Reply(
                _error(
                    400,
                    "INVALID_PARAMETER_SYNTAX",
                    field_=f"{pointer}/currency_code",
                    value=currency,
                )
            )
        if currency not in self.config.merchant_currencies:
            raise _Reply(
                _error(
                    422, "INVALID_CURRENCY_CODE", field_=f"{pointer}/currency_code", value=currency
                )
            )
        if not isinstance(value, str) or len(value) > 32 or not _VALUE_RE.fullmatch(value):
            raise _Reply(
                _error(400, "INVALID_PARAMETER_SYNTAX", field_=f"{pointer}/value", value=value)
            )
        whole, _, frac = value.lstrip("-").partition(".")
        if value.startswith("-") or not any(ch not in "0." for ch in value):
            raise _Reply(
                _error(422, "CANNOT_BE_ZERO_OR_NEGATIVE", field_=f"{pointer}/value", value=value)
            )
        places = _decimals(currency)
        if len(frac) > places:
            raise _Reply(_error(422, "DECIMAL_PRECISION", field_=f"{pointer}/value", value=value))
        if len(whole.lstrip("0")) > 15:
            raise _Reply(
                _error(400, "INVALID_PARAMETER_VALUE", field_=f"{pointer}/value", value=value)
            )
        return int(whole or "0") * 10**places + int(frac.ljust(places, "0") or "0"), currency

    # --- representations --------------------------------------------------------------------

    def order_json(self, order: _Order, base: str) -> Json:
        unit = dict(order.unit)
        if order.capture_ids or order.refund_ids:
            payments: Json = {
                "captures": [
                    self.capture_json(self.state.captures[c], base) for c in order.capture_ids
                ]
            }
            if order.refund_ids:
                payments["refunds"] = [
                    self.refund_json(self.state.refunds[r], base) for r in order.refund_ids
                ]
            unit["payments"] = payments
        body: Json = {
            "id": order.id,
            "intent": order.intent,
            "status": order.status,
            "purchase_units": [unit],
            "create_time": order.create_time,
            "update_time": order.update_time,
        }
        if order.payer is not None:
            body["payer"] = order.payer
            if order.style == "payer-action":
                body["payment_source"] = {
                    "paypal": {
                        "email_address": order.payer["email_address"],
                        "account_id": order.payer["payer_id"],
                        "name": order.payer["name"],
                    }
                }
        body["links"] = self._order_links(order, base)
        return body

    def _order_links(self, order: _Order, base: str) -> list[Json]:
        href = f"{base}/v2/checkout/orders/{order.id}"
        links: list[Json] = [{"href": href, "rel": "self", "method": "GET"}]
        if order.status in {"CREATED", "PAYER_ACTION_REQUIRED"}:
            links.append(
                {
                    "href": f"{base}/checkoutnow?token={order.id}",
                    "rel": order.style,
                    "method": "GET",
                }
            )
        if order.status in {"CREATED", "APPROVED"}:
            links.append({"href": href, "rel": "update", "method": "PATCH"})
            links.append({"href": f"{href}/capture", "rel": "capture", "method": "POST"})
        return links

    def capture_json(self, capture: _Capture, base: str) -> Json:
        gross = capture.amount
        fee = _fee(gross, capture.currency)
        body: Json = {
            "id": capture.id,
            "status": capture.status,
            "amount": _money(gross, capture.currency),
            "final_capture": True,
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            },
            "seller_receivable_breakdown": {
                "gross_amount": _money(gross, capture.currency),
                "paypal_fee": _money(fee, capture.currency),
                "net_amount": _money(gross - fee, capture.currency),
            },
            "supplementary_data": {"related_ids": {"order_id": capture.order_id}},
            "links": [
                {
                    "href": f"{base}/v2/payments/captures/{capture.id}",
                    "rel": "self",
                    "method": "GET",
                },
                {
                    "href": f"{base}/v2/payments/captures/{capture.id}/refund",
                    "rel": "refund",
                    "method": "POST",
                },
                {
                    "href": f"{base}/v2/checkout/orders/{capture.order_id}",
                    "rel": "up",
                    "method": "GET",
                },
            ],
            "create_time": capture.create_time,
            "update_time": capture.update_time,
        }
        if capture.reason is not None:
            body["status_details"] = {"reason": capture.reason}
        if capture.invoice_id is not None:
            body["invoice_id"] = capture.invoice_id
        if capture.custom_id is not None:
            body["custom_id"] = capture.custom_id
        return body

    def refund_json(self, refund: _Refund, base: str) -> Json:
        fee = _fee(refund.amount, refund.currency) if refund.amount else 0
        body: Json = {
            "id": refund.id,
            "status": refund.status,
            "amount": _money(refund.amount, refund.currency),
            "seller_payable_breakdown": {
                "gross_amount": _money(refund.amount, refund.currency),
                "paypal_fee": _money(min(fee, refund.amount), refund.currency),
                "net_amount": _money(refund.amount - min(fee, refund.amount), refund.currency),
                "total_refunded_amount": _money(refund.total_refunded_after, refund.currency),
            },
            "links": [
                {"href": f"{base}/v2/payments/refunds/{refund.id}", "rel": "self", "method": "GET"},
                {
                    "href": f"{base}/v2/payments/captures/{refund.capture_id}",
                    "rel": "up",
                    "method": "GET",
                },
            ],
            "create_time": refund.create_time,
            "update_time": refund.create_time,
        }
        for key in ("invoice_id", "custom_id", "note_to_payer"):
            value = getattr(refund, key)
            if value is not None:
                body[key] = value
        return body

    @staticmethod
    def _minimal(body: Json) -> Json:
        return {key: body[key] for key in ("id", "status", "links") if key in body}

    # --- OAuth ------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id, secret = "", ""
        ok = (
            scheme.lower() == "basic"
            and hmac.compare_digest(client_id.encode(), self.config.client_id.encode())
            and hmac.compare_digest(secret.encode(), self.config.client_secret.encode())
        )
        if not ok:
            return _oauth_error(401, "invalid_client", "Client Authentication failed")
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return _oauth_error(400, "unsupported_grant_type", "Grant Type is NULL or invalid")
        self.state.token_requests += 1
        value = "A21AA" + secrets.token_urlsafe(48)
        expires_in = self.state.token_expires_in
        self.state.tokens[value] = time.monotonic() + expires_in
        return _json(
            {
                "scope": "https://uri.paypal.com/services/payments/payment/authcapture "
                "https://uri.paypal.com/services/payments/refund "
                "https://uri.paypal.com/services/applications/webhooks",
                "access_token": value,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": expires_in,
                "nonce": _now() + secrets.token_urlsafe(24),
            }
        )

    # --- Orders v2 --------------------------------------------------------------------------

    async def create_order(self, request: Request) -> Response:
        data = await self._body(request, required=True)
        intent = data.get("intent")
        if intent not in {"CAPTURE", "AUTHORIZE"}:
            return _error(400, "INVALID_PARAMETER_VALUE", field_="/intent", value=intent)
        if intent != "CAPTURE":
            return _error(
                400,
                "NOT_SUPPORTED",
                field_="/intent",
                value=intent,
                description="This sandbox implements intent CAPTURE only.",
            )
        units = data.get("purchase_units")
        if not isinstance(units, list) or not units:
            return _error(400, "INVALID_ARRAY_MIN_ITEMS", field_="/purchase_units")
        if len(units) > 1:
            return _error(
                400,
                "NOT_SUPPORTED",
                field_="/purchase_units",
                description="This sandbox takes one purchase unit per order.",
            )
        raw_unit = units[0]
        if not isinstance(raw_unit, dict):
            return _error(400, "INVALID_PARAMETER_SYNTAX", field_="/purchase_units/0")
        amount, currency = self._parse_amount(raw_unit.get("amount"), "/purchase_units/0/amount")
        unit: Json = {"reference_id": raw_unit.get("reference_id") or "default"}
        unit["amount"] = _money(amount, currency)
        unit["payee"] = {"email_address": "merchant@example.com", "merchant_id": "SANDBOXMERCHANT"}
        for key in ("custom_id", "invoice_id", "description", "soft_descriptor"):
            value = raw_unit.get(key)
            if value is None:
                continue
            limit = 22 if key == "soft_descriptor" else 127 if key != "reference_id" else 256
            if not isinstance(value, str) or not 1 <= len(value) <= limit:
                return _error(
                    400, "INVALID_STRING_LENGTH", field_=f"/purchase_units/0/{key}", value=value
                )
            unit[key] = value
        invoice_id = unit.get("invoice_id")
        if self.config.unique_invoice_ids and invoice_id in self.state.invoice_ids:
            return _error(
                422, "DUPLICATE_INVOICE_ID", field_="/purchase_units/0/invoice_id", value=invoice_id
            )
        experience = ((data.get("payment_source") or {}).get("paypal") or {}).get(
            "experience_context"
        )
        context = experience if isinstance(experience, dict) else data.get("application_context")
        context = context if isinstance(context, dict) else {}
        style = "payer-action" if isinstance(experience, dict) else "approve"
        now = _now()
        order = _Order(
            id=_new_id(),
            intent="CAPTURE",
            status="PAYER_ACTION_REQUIRED" if style == "payer-action" else "CREATED",
            unit=unit,
            currency=currency,
            amount=amount,
            style=style,
            return_url=context.get("return_url"),
            cancel_url=context.get("cancel_url"),
            create_time=now,
            update_time=now,
        )
        self.state.orders[order.id] = order
        if self.config.unique_invoice_ids and invoice_id is not None:
            self.state.invoice_ids.add(invoice_id)
        body = self.order_json(order, self.base_url(request))
        return _json(body if self._representation(request) else self._minimal(body), 201)

    def _order(self, order_id: str) -> _Order:
        order = self.state.orders.get(order_id)
        if order is None:
            raise _Reply(
                _error(
                    404, "INVALID_RESOURCE_ID", field_="order_id", value=order_id, location="path"
                )
            )
        return order

    async def get_order(self, request: Request) -> Response:
        order = self._order(request.path_params["order_id"])
        return _json(self.order_json(order, self.base_url(request)))

    async def capture_order(self, request: Request) -> Response:
        await self._body(request, required=False)
        order = self._order(request.path_params["order_id"])
        if order.status == "COMPLETED":
            return _error(422, "ORDER_ALREADY_CAPTURED")
        if order.status != "APPROVED":
            return _error(422, "ORDER_NOT_APPROVED")
        outcome = (
            self.state.capture_outcomes.popleft()
            if self.state.capture_outcomes
            else self.state.sticky_capture_outcome
        )
        now = _now()
        capture = _Capture(
            id=_new_id(),
            order_id=order.id,
            status=outcome,
            currency=order.currency,
            amount=order.amount,
            refunded=0,
            reason={"PENDING": "PENDING_REVIEW", "DECLINED": None}.get(outcome),
            custom_id=order.unit.get("custom_id"),
            invoice_id=order.unit.get("invoice_id"),
            create_time=now,
            update_time=now,
        )
        self.state.captures[capture.id] = capture
        order.capture_ids.append(capture.id)
        order.status = "COMPLETED"
        order.update_time = now
        base = self.base_url(request)
        body = self.order_json(order, base)
        capture_body = self.capture_json(capture, base)
        amount = f"{capture_body['amount']['value']} {capture.currency}"
        if outcome == "COMPLETED":
            self._emit(
                "PAYMENT.CAPTURE.COMPLETED",
                "capture",
                capture_body,
                f"Payment completed for {amount}",
                base,
            )
            self._emit(
                "CHECKOUT.ORDER.COMPLETED", "checkout-order", body, "Checkout Order Completed", base
            )
        elif outcome == "PENDING":
            self._emit(
                "PAYMENT.CAPTURE.PENDING",
                "capture",
                capture_body,
                f"Payment pending for {amount}",
                base,
            )
        else:
            self._emit(
                "PAYMENT.CAPTURE.DECLINED",
                "capture",
                capture_body,
                f"Payment declined for {amount}",
                base,
            )
        return _json(body if self._representation(request) else self._minimal(body), 201)

    # --- Payments v2 ------------------------------------------------------------------------

    def _capture(self, capture_id: str) -> _Capture:
        capture = self.state.captures.get(capture_id)
        if capture is None:
            raise _Reply(
                _error(
                    404,
                    "INVALID_RESOURCE_ID",
                    field_="capture_id",
                    value=capture_id,
                    location="path",
                )
            )
        return capture

    async def get_capture(self, request: Request) -> Response:
        capture = self._capture(request.path_params["capture_id"])
        return _json(self.capture_json(capture, self.base_url(request)))

    async def get_refund(self, request: Request) -> Response:
        refund = self.state.refunds.get(request.path_params["refund_id"])
        if refund is None:
            return _error(
                404,
                "INVALID_RESOURCE_ID",
                field_="refund_id",
                value=request.path_params["refund_id"],
                location="path",
            )
        return _json(self.refund_json(refund, self.base_url(request)))

    async def refund_capture(self, request: Request) -> Response:
        data = await self._body(request, required=False)
        capture = self._capture(request.path_params["capture_id"])
        if capture.status == "PENDING":
            return _error(422, "PENDING_CAPTURE")
        if capture.status == "REFUNDED":
            return _error(422, "CAPTURE_FULLY_REFUNDED")
        if capture.status not in {"COMPLETED", "PARTIALLY_REFUNDED"}:
            return _error(
                422,
                "REFUND_NOT_ALLOWED",
                description="Refund is not allowed for a capture in this state.",
            )
        remaining = capture.amount - capture.refunded
        if "amount" in data:
            amount, currency = self._parse_amount(data["amount"], "/amount")
            if currency != capture.currency:
                return _error(
                    422,
                    "REFUND_CAPTURE_CURRENCY_MISMATCH",
                    field_="/amount/currency_code",
                    value=currency,
                )
            if amount > remaining:
                return _error(
                    422,
                    "REFUND_AMOUNT_EXCEEDED",
                    field_="/amount/value",
                    value=data["amount"].get("value"),
                )
        else:
            amount = remaining
        strings: dict[str, str | None] = {}
        for key, limit in (("invoice_id", 127), ("custom_id", 127), ("note_to_payer", 255)):
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= limit):
                return _error(400, "INVALID_STRING_LENGTH", field_=f"/{key}", value=value)
            strings[key] = value
        invoice_id = strings["invoice_id"]
        if invoice_id is not None and invoice_id in self.state.refund_invoice_ids:
            return _error(
                422,
                "DUPLICATE_INVOICE_ID",
                description="Invoice ID was previously used to refund a capture.",
            )
        now = _now()
        capture.refunded += amount
        capture.status = "REFUNDED" if capture.refunded == capture.amount else "PARTIALLY_REFUNDED"
        capture.update_time = now
        refund = _Refund(
            id=_new_id(),
            capture_id=capture.id,
            status="COMPLETED",
            currency=capture.currency,
            amount=amount,
            total_refunded_after=capture.refunded,
            invoice_id=invoice_id,
            custom_id=strings["custom_id"],
            note_to_payer=strings["note_to_payer"],
            create_time=now,
        )
        self.state.refunds[refund.id] = refund
        if invoice_id is not None:
            self.state.refund_invoice_ids.add(invoice_id)
        self.state.orders[capture.order_id].refund_ids.append(refund.id)
        base = self.base_url(request)
        body = self.refund_json(refund, base)
        self._emit(
            "PAYMENT.CAPTURE.REFUNDED",
            "refund",
            body,
            f"A {_fmt(amount, capture.currency)} {capture.currency} capture payment was refunded",
            base,
        )
        return _json(body if self._representation(request) else self._minimal(body), 201)

    # --- the buyer --------------------------------------------------------------------------

    async def checkout_page(self, request: Request) -> Response:
        order = self.state.orders.get(request.query_params.get("token", ""))
        if order is None:
            return HTMLResponse("<!doctype html><title>PayPal sandbox</title>Unknown order.", 404)
        unit = order.unit
        html = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>PayPal sandbox checkout</title></head>
<body>
<h1>PayPal sandbox</h1>
<p>Order <code>{order.id}</code>: {unit["amount"]["value"]} {order.currency}
({order.status})</p>
<button id="approve">Pay now</button> <button id="cancel">Cancel</button>
<script>
async function act(action) {{
  const r = await fetch(window.location.href, {{method: "POST",
    headers: {{"Content-Type": "application/json"}}, body: JSON.stringify({{action}})}});
  const data = await r.json();
  if (data.redirect_url) window.location.href = data.redirect_url;
  else document.body.insertAdjacentText("beforeend", JSON.stringify(data));
}}
document.getElementById("approve").onclick = () => act("approve");
document.getElementById("cancel").onclick = () => act("cancel");
</script>
</body></html>"""
        return HTMLResponse(html)

    async def checkout_action(self, request: Request) -> Response:
        order = self._order(request.query_params.get("token", ""))
        data = await self._body(request, required=True)
        action = data.get("action")
        if action == "cancel":
            return _json(
                {
                    "order_id": order.id,
                    "status": order.status,
                    "redirect_url": _with_query(order.cancel_url, token=order.id),
                }
            )
        if action != "approve":
            return _error(400, "INVALID_PARAMETER_VALUE", field_="/action", value=action)
        if order.status == "APPROVED" and order.payer is not None:
            payer_id = order.payer["payer_id"]
        elif order.status in {"CREATED", "PAYER_ACTION_REQUIRED"}:
            payer_id = _new_id(13)
            order.payer = {
                "payer_id": payer_id,
                "email_address": f"buyer-{payer_id.lower()}@example.com",
                "name": {"given_name": "Sandbox", "surname": "Buyer"},
                "address": {"country_code": "US"},
            }
            order.status = "APPROVED"
            order.update_time = _now()
            base = self.base_url(request)
            self._emit(
                "CHECKOUT.ORDER.APPROVED",
                "checkout-order",
                self.order_json(order, base),
                "An order has been approved by buyer",
                base,
            )
        else:
            return _error(
                422,
                "ORDER_ALREADY_COMPLETED",
                description=f"Order is {order.status} and cannot be approved.",
            )
        return _json(
            {
                "order_id": order.id,
                "status": order.status,
                "redirect_url": _with_query(order.return_url, token=order.id, PayerID=payer_id),
            }
        )

    # --- webhooks ---------------------------------------------------------------------------

    def cert_url(self, base: str) -> str:
        return f"{base}/v1/notifications/certs/{self.signer.cert_id}"

    async def cert(self, request: Request) -> Response:
        if request.path_params["cert_id"] != self.signer.cert_id:
            return _error(404, "INVALID_RESOURCE_ID", location="path")
        return Response(self.signer.cert_pem, media_type="application/x-pem-file")

    def _emit(
        self, event_type: str, resource_type: str, resource: Json, summary: str, base: str
    ) -> None:
        event_id = f"WH-{_new_id()}-{_new_id()}"
        envelope: Json = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": _now_ms(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
            "links": [
                {
                    "href": f"{base}/v1/notifications/webhooks-events/{event_id}",
                    "rel": "self",
                    "method": "GET",
                },
                {
                    "href": f"{base}/v1/notifications/webhooks-events/{event_id}/resend",
                    "rel": "resend",
                    "method": "POST",
                },
            ],
        }
        state = self.state
        state.events_emitted += 1
        if state.webhook_url is None:
            return
        if state.drop_next > 0:
            state.drop_next -= 1
            state.deliveries.append(
                {"event_id": event_id, "event_type": event_type, "outcome": "dropped"}
            )
            return
        if state.reorder_next > 0:
            state.reorder_next -= 1
            state.held.append((envelope, base))
            if state.reorder_next == 0:
                self._release_held()
            return
        copies = 1
        if state.duplicate_next > 0:
            state.duplicate_next -= 1
            copies = 2
        for copy in range(copies):
            self._spawn(envelope, base, start_after=0.02 * copy)

    def _release_held(self) -> None:
        held, self.state.held = self.state.held, []
        for position, (envelope, base) in enumerate(reversed(held)):
            self._spawn(envelope, base, start_after=0.03 * position)

    def _spawn(self, envelope: Json, base: str, *, start_after: float) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(envelope, base, start_after))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, envelope: Json, base: str, start_after: float) -> None:
        state = self.state
        url = state.webhook_url
        if url is None:
            return
        if start_after:
            await asyncio.sleep(start_after)
        raw = json.dumps(envelope, separators=(",", ":")).encode()
        config = self.config
        async with httpx.AsyncClient(timeout=config.webhook_timeout) as client:
            for attempt in range(1, config.webhook_max_attempts + 1):
                transmission_id = str(uuid.uuid4())
                when = _now()
                state.transmissions[transmission_id] = (raw, when)
                signature = self.signer.sign(
                    _signed_message(transmission_id, when, config.webhook_id, raw)
                )
                headers = {
                    "Content-Type": "application/json",
                    "PAYPAL-TRANSMISSION-ID": transmission_id,
                    "PAYPAL-TRANSMISSION-TIME": when,
                    "PAYPAL-TRANSMISSION-SIG": signature,
                    "PAYPAL-CERT-URL": self.cert_url(base),
                    "PAYPAL-AUTH-ALGO": "SHA256withRSA",
                }
                record: Json = {
                    "event_id": envelope["id"],
                    "event_type": envelope["event_type"],
                    "transmission_id": transmission_id,
                    "attempt": attempt,
                }
                try:
                    answer = await client.post(url, content=raw, headers=headers)
                    record["status"] = answer.status_code
                    delivered = answer.is_success
                except httpx.HTTPError as exc:
                    record["error"] = type(exc).__name__
                    delivered = False
                record["outcome"] = "delivered" if delivered else "failed"
                state.deliveries.append(record)
                if delivered:
                    return
                if attempt < config.webhook_max_attempts:
                    delay = config.webhook_retry_base * 2 ** (attempt - 1)
                    await asyncio.sleep(min(config.webhook_retry_cap, delay))

    async def verify_webhook_signature(self, request: Request) -> Response:
        data = await self._body(request, required=True)
        names = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
        )
        missing = [n for n in names if not isinstance(data.get(n), str) or not data[n]]
        if not isinstance(data.get("webhook_event"), dict):
            missing.append("webhook_event")
        if missing:
            return _error(
                400,
                "MISSING_REQUIRED_PARAMETER",
                name="VALIDATION_ERROR",
                field_=missing[0],
                description=f"{missing[0]} is required",
            )
        return _json({"verification_status": "SUCCESS" if self._verifies(data) else "FAILURE"})

    def _verifies(self, data: Json) -> bool:
        stored = self.state.transmissions.get(data["transmission_id"])
        if stored is None:
            return False
        raw, when = stored
        cert_path = urlsplit(data["cert_url"]).path
        return (
            data["auth_algo"] == "SHA256withRSA"
            and cert_path.endswith(f"/v1/notifications/certs/{self.signer.cert_id}")
            and data["webhook_id"] == self.config.webhook_id
            and data["transmission_time"] == when
            and json.loads(raw) == data["webhook_event"]
            and self.signer.verify(
                data["transmission_sig"],
                _signed_message(data["transmission_id"], when, data["webhook_id"], raw),
            )
        )

    # --- control ----------------------------------------------------------------------------

    async def control(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                data = json.loads(await request.body() or b"{}")
            except ValueError:
                return JSONResponse({"error": "body must be JSON"}, 400)
            if not isinstance(data, dict):
                return JSONResponse({"error": "body must be a JSON object"}, 400)
            try:
                await self._apply_control(data, request)
            except (KeyError, TypeError, ValueError) as exc:
                return JSONResponse({"error": f"bad control request: {exc!r}"}, 400)
        return JSONResponse(self.snapshot(request))

    async def _apply_control(self, data: Json, request: Request) -> None:
        state = self.state
        action = data.get("action")
        if action == "reset":
            await self.aclose()
            self.state = self._fresh_state()
        elif action in {"fail", "delay"}:
            method = data.get("method")
            state.faults.append(
                _Fault(
                    kind="status" if action == "fail" else "delay",
                    path=str(data["path"]),
                    method=str(method).upper() if method else None,
                    remaining=int(data.get("count", 1)),
                    status=int(data.get("status", 500)),
                    seconds=float(data.get("seconds", 0.0)),
                    retry_after=str(data["retry_after"]) if "retry_after" in data else None,
                )
            )
        elif action == "capture_outcome":
            outcome = str(data["outcome"]).upper()
            if outcome not in {"COMPLETED", "PENDING", "DECLINED"}:
                raise ValueError("outcome must be COMPLETED, PENDING or DECLINED")
            if data.get("count") is None:
                state.sticky_capture_outcome = outcome
            else:
                state.capture_outcomes.extend([outcome] * int(data["count"]))
        elif action == "webhooks":
            state.drop_next += int(data.get("drop", 0))
            state.duplicate_next += int(data.get("duplicate", 0))
            state.reorder_next += int(data.get("reorder", 0))
            if "url" in data:
                state.webhook_url = data["url"]
        elif action == "token_expires_in":
            state.token_expires_in = int(data["seconds"])
        elif action == "revoke_tokens":
            state.tokens.clear()
        elif action == "settle_capture":
            self._settle(str(data["capture_id"]), str(data["outcome"]).upper(), request)
        elif action == "reverse_capture":
            self._reverse(str(data["capture_id"]), request)
        else:
            raise ValueError(f"unknown action {action!r}")

    def _settle(self, capture_id: str, outcome: str, request: Request) -> None:
        capture = self.state.captures[capture_id]
        if capture.status != "PENDING" or outcome not in {"COMPLETED", "DENIED"}:
            raise ValueError("settle a PENDING capture as COMPLETED or DENIED")
        capture.status = "COMPLETED" if outcome == "COMPLETED" else "DECLINED"
        capture.reason = None
        capture.update_time = _now()
        base = self.base_url(request)
        body = self.capture_json(capture, base)
        self._emit(
            f"PAYMENT.CAPTURE.{outcome}",
            "capture",
            body,
            f"Payment {outcome.lower()} for {body['amount']['value']} {capture.currency}",
            base,
        )

    def _reverse(self, capture_id: str, request: Request) -> None:
        # Approximation of a chargeback reversal: the capture ends REFUNDED with reason
        # CHARGEBACK and PAYMENT.CAPTURE.REVERSED carries the capture.
        capture = self.state.captures[capture_id]
        if capture.status not in {"COMPLETED", "PARTIALLY_REFUNDED"}:
            raise ValueError("only a completed capture can be reversed")
        capture.refunded = capture.amount
        capture.status = "REFUNDED"
        capture.reason = "CHARGEBACK"
        capture.update_time = _now()
        base = self.base_url(request)
        self._emit(
            "PAYMENT.CAPTURE.REVERSED",
            "capture",
            self.capture_json(capture, base),
            "A payment was reversed",
            base,
        )

    def snapshot(self, request: Request) -> Json:
        state = self.state
        now = time.monotonic()
        return {
            "token_requests": state.token_requests,
            "token_expires_in": state.token_expires_in,
            "active_tokens": sum(1 for t in state.tokens.values() if t > now),
            "request_count": state.request_count,
            "requests": dict(state.requests),
            "orders": len(state.orders),
            "captures": len(state.captures),
            "refunds": len(state.refunds),
            "faults": [
                {
                    "kind": f.kind,
                    "path": f.path,
                    "method": f.method,
                    "remaining": f.remaining,
                    "status": f.status,
                    "seconds": f.seconds,
                }
                for f in state.faults
            ],
            "capture_outcome": state.sticky_capture_outcome,
            "capture_outcomes_queued": list(state.capture_outcomes),
            "webhook_id": self.config.webhook_id,
            "cert_url": self.cert_url(self.base_url(request)),
            "webhooks": {
                "url": state.webhook_url,
                "emitted": state.events_emitted,
                "pending": len(self._tasks),
                "held": len(state.held),
                "drop_next": state.drop_next,
                "duplicate_next": state.duplicate_next,
                "reorder_next": state.reorder_next,
                "deliveries": list(state.deliveries),
            },
        }


def _with_query(url: str | None, **params: str) -> str | None:
    if url is None:
        return None
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def create_paypal_sandbox(config: PayPalSandboxConfig) -> Starlette:
    """Build the sandbox app. `app.state.paypal_sandbox` is the PayPalSandbox behind it: an
    owner that mounts the app (sub-app lifespans do not run) should await its aclose() on
    shutdown to stop webhook retries still in flight."""
    sandbox = PayPalSandbox(config)
    api = sandbox.api
    routes = [
        Route(
            "/v1/oauth2/token", api(sandbox.token, "/v1/oauth2/token", auth=False), methods=["POST"]
        ),
        Route(
            "/v2/checkout/orders",
            api(
                sandbox.create_order,
                "/v2/checkout/orders",
                json_post=True,
                idempotent=_ORDER_KEY_TTL,
            ),
            methods=["POST"],
        ),
        Route(
            "/v2/checkout/orders/{order_id}",
            api(sandbox.get_order, "/v2/checkout/orders/{id}"),
            methods=["GET"],
        ),
        Route(
            "/v2/checkout/orders/{order_id}/capture",
            api(
                sandbox.capture_order,
                "/v2/checkout/orders/{id}/capture",
                json_post=True,
                idempotent=_ORDER_KEY_TTL,
            ),
            methods=["POST"],
        ),
        Route(
            "/v2/payments/captures/{capture_id}/refund",
            api(
                sandbox.refund_capture,
                "/v2/payments/captures/{id}/refund",
                json_post=True,
                idempotent=_PAYMENT_KEY_TTL,
            ),
            methods=["POST"],
        ),
        Route(
            "/v2/payments/captures/{capture_id}",
            api(sandbox.get_capture, "/v2/payments/captures/{id}"),
            methods=["GET"],
        ),
        Route(
            "/v2/payments/refunds/{refund_id}",
            api(sandbox.get_refund, "/v2/payments/refunds/{id}"),
            methods=["GET"],
        ),
        Route(
            "/v1/notifications/verify-webhook-signature",
            api(
                sandbox.verify_webhook_signature,
                "/v1/notifications/verify-webhook-signature",
                json_post=True,
            ),
            methods=["POST"],
        ),
        Route(
            "/v1/notifications/certs/{cert_id}",
            api(sandbox.cert, "/v1/notifications/certs/{id}", auth=False),
            methods=["GET"],
        ),
        Route(
            "/checkoutnow", api(sandbox.checkout_page, "/checkoutnow", auth=False), methods=["GET"]
        ),
        Route(
            "/checkoutnow",
            api(sandbox.checkout_action, "/checkoutnow", auth=False, json_post=True),
            methods=["POST"],
        ),
        Route("/_control", sandbox.control, methods=["GET", "POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await sandbox.aclose()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.paypal_sandbox = sandbox
    return app

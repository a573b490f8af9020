"""An offline Razorpay: the API paths, entities, errors and webhooks our adapter relies on.

Mounted at /sandbox/razorpay (development and tests only), it serves Razorpay's own paths, so
`razorpay.Client(auth=(key_id, key_secret), base_url="http://HOST/sandbox/razorpay")` and
gateways.razorpay.RazorpayGateway both work against it. Behaviour follows
shared/reference/razorpay.md: Basic auth (401 on a bad key), the error envelope with "NA"
defaults, 400 for unknown ids and routes, the order/payment/refund state machines and amount
rules, refund idempotency (same key + same body replays, a different body is 409), and signed
webhooks delivered at least once, retried with backoff on any non-2xx.

Checkout stand-in: `POST /checkout/{order_id}/pay` plays the browser checkout. The reference's
test instruments decide the outcome (test cards, success@razorpay / failure@razorpay); for
net banking and wallets, whose mock bank page has Success/Failure buttons, the optional body
field `"outcome": "success"|"failure"` presses one (default success). Card numbers are used to
pick the outcome and then dropped: only last4 and the network are kept, nothing is logged.

`GET /_control` shows the simulator's state, `POST /_control` changes it; see `_control_post`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fnmatch
import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import string
import time
from base64 import b64decode
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("paygraph.sandbox.razorpay")

Json = dict[str, Any]

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

CURRENCIES = frozenset(
    {"INR", "USD", "EUR", "GBP", "SGD", "AED", "AUD", "CAD", "JPY", "KWD", "BHD", "OMR"}
)
THREE_DECIMAL = frozenset({"KWD", "BHD", "OMR"})
# Net-banking banks as GET /v1/methods lists them: RBI bank code (the IFSC prefix), with
# _R/_C for banks with separate retail and corporate portals.
BANK_NAMES: dict[str, str] = {
    "AIRP": "Airtel Payments Bank",
    "ALLA": "Allahabad Bank",
    "ANDB_C": "Andhra Bank - Corporate",
    "AUBL": "AU Small Finance Bank",
    "BARB_C": "Bank of Baroda - Corporate",
    "BARB_R": "Bank of Baroda - Retail",
    "BDBL": "Bandhan Bank",
    "BKDN": "Dena Bank",
    "BKID": "Bank of India",
    "CBIN": "Central Bank of India",
    "CIUB": "City Union Bank",
    "CNRB": "Canara Bank",
    "COSB": "Cosmos Co-operative Bank",
    "CSBK": "CSB Bank",
    "DBSS": "DBS Bank",
    "DCBL": "DCB Bank",
    "DEUT": "Deutsche Bank",
    "DLXB": "Dhanlaxmi Bank",
    "DLXB_C": "Dhanlaxmi Bank - Corporate",
    "ESFB": "Equitas Small Finance Bank",
    "FDRL": "Federal Bank",
    "HDFC": "HDFC Bank",
    "HSBC": "HSBC",
    "IBKL": "IDBI Bank",
    "ICIC": "ICICI Bank",
    "IDFB": "IDFC FIRST Bank",
    "IDIB": "Indian Bank",
    "INDB": "IndusInd Bank",
    "IOBA": "Indian Overseas Bank",
    "JAKA": "Jammu and Kashmir Bank",
    "JSBP": "Janata Sahakari Bank",
    "KARB": "Karnataka Bank",
    "KKBK": "Kotak Mahindra Bank",
    "KVBL": "Karur Vysya Bank",
    "LAVB_C": "Lakshmi Vilas Bank - Corporate",
    "LAVB_R": "Lakshmi Vilas Bank - Retail",
    "MAHB": "Bank of Maharashtra",
    "NKGS": "NKGSB Co-operative Bank",
    "ORBC": "Oriental Bank of Commerce",
    "PSIB": "Punjab & Sind Bank",
    "PUNB_C": "Punjab National Bank - Corporate",
    "PUNB_R": "Punjab National Bank - Retail",
    "RATN": "RBL Bank",
    "SBIN": "State Bank of India",
    "SCBL": "Standard Chartered Bank",
    "SIBL": "South Indian Bank",
    "SRCB": "Saraswat Co-operative Bank",
    "SVCB": "SVC Co-operative Bank",
    "SYNB": "Syndicate Bank",
    "TMBL": "Tamilnad Mercantile Bank",
    "TNSC": "Tamil Nadu State Co-operative Bank",
    "UBIN": "Union Bank of India",
    "UCBA": "UCO Bank",
    "UTIB": "Axis Bank",
    "VIJB": "Vijaya Bank",
    "YESB": "Yes Bank",
}
BANKS = frozenset(BANK_NAMES)
WALLETS = frozenset(
    {
        "paytm",
        "phonepe",
        "amazonpay",
        "mobikwik",
        "freecharge",
        "airtelmoney",
        "jiomoney",
        "olamoney",
        "googlepay",
        "applepay",
    }
)
EMI_DURATIONS = frozenset({3, 6, 9, 12, 18, 24})
METHODS = frozenset({"card", "upi", "netbanking", "wallet", "emi"})

_DOMESTIC_CARDS = frozenset(
    {
        "4100280000001007",
        "5500670000001002",
        "6527658900001005",
        "36082800091007",
        "340256000401007",
        "4718609108204366",
        "5241810000000000",
    }
)
_INTERNATIONAL_CARDS = frozenset(
    {
        "5555555555554444",
        "5105105105105100",
        "5104060000000008",
        "4012888888881881",
        "5104015555555558",
    }
)


@dataclass(frozen=True, slots=True)
class _Failure:
    code: str
    reason: str
    description: str
    source: str
    step: str


def _card_failures() -> dict[str, _Failure]:
    bad = "BAD_REQUEST_ERROR"
    table = {
        "0009 0000": _Failure(
            bad,
            "payment_timed_out",
            "Payment was not completed on time.",
            "customer",
            "payment_authentication",
        ),
        "0008 0001": _Failure(
            bad,
            "insufficient_funds",
            "Payment failed due to insufficient balance.",
            "customer",
            "payment_authorization",
        ),
        "0007 0002": _Failure(
            bad,
            "payment_cancelled",
            "Payment was cancelled by the customer.",
            "customer",
            "payment_authentication",
        ),
        "0006 0003": _Failure(
            bad,
            "card_declined",
            "The card was declined by the issuer.",
            "issuer",
            "payment_authorization",
        ),
        "0005 0004": _Failure(
            bad,
            "card_declined",
            "The card was declined by the issuer.",
            "issuer",
            "payment_authorization",
        ),
        "0004 0005": _Failure(
            bad,
            "card_declined",
            "The card was declined by the issuer.",
            "issuer",
            "payment_authorization",
        ),
        "0003 0006": _Failure(
            bad,
            "card_disabled_for_online_payments",
            "The card is not enabled for online payments.",
            "issuer",
            "payment_authorization",
        ),
        "0001 0008": _Failure(
            bad,
            "card_number_invalid",
            "The card number is invalid.",
            "customer",
            "payment_initiation",
        ),
        "0002 0007": _Failure(
            "GATEWAY_ERROR",
            "gateway_technical_error",
            "Payment processing failed due to an error at the bank or wallet gateway.",
            "bank",
            "payment_authorization",
        ),
        "0000 0009": _Failure(
            "GATEWAY_ERROR",
            "authentication_failed",
            "Payment processing failed because the cardholder could not be authenticated.",
            "customer",
            "payment_authentication",
        ),
    }
    cards: dict[str, _Failure] = {}
    for tail, failure in table.items():
        # Each Visa error card 4100 2800 .... has a Mastercard twin 5305 6200 .... (reference §7).
        for head in ("41002800", "53056200"):
            cards[head + tail.replace(" ", "")] = failure
    return cards


_CARD_FAILURES = _card_failures()
_PAYMENT_FAILED = _Failure(
    "BAD_REQUEST_ERROR", "payment_failed", "Payment failed.", "customer", "payment_authorization"
)

_ID_ALPHABET = string.ascii_letters + string.digits
_ID_RE = re.compile(r"^[a-z]+_[A-Za-z0-9]{14}$")
_VPA_RE = re.compile(r"^[A-Za-z0-9.\-_]{2,256}@[A-Za-z]{2,64}$")
_IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def _new_id(prefix: str = "") -> str:
    token = "".join(secrets.choice(_ID_ALPHABET) for _ in range(14))
    return f"{prefix}_{token}" if prefix else token


def _compact(document: Json) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class RazorpaySandboxConfig:
    """`clock` stamps created_at (unix seconds); `speed` divides webhook retry waits."""

    key_id: str
    key_secret: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_url: str | None = None
    account_id: str = "acc_Sandbox0Paygrph"
    clock: Callable[[], float] = time.time
    speed: float = 1.0
    webhook_timeout: float = 5.0
    auto_capture: bool = True  # Razorpay accounts capture automatically unless told not to

    def __post_init__(self) -> None:
        if not self.key_id or not self.key_secret:
            raise ValueError("the sandbox needs a key_id and key_secret")
        if self.speed <= 0:
            raise ValueError("speed must be positive")


class ApiError(Exception):
    """Razorpay's error envelope, raised anywhere in a handler."""

    def __init__(
        self,
        description: str,
        *,
        status: int = 400,
        code: str = "BAD_REQUEST_ERROR",
        field: str | None = None,
        reason: str = "NA",
        source: str = "NA",
        step: str = "NA",
        metadata: Json | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.headers = headers
        self.body: Json = {
            "code": code,
            "description": description,
            "source": source,
            "step": step,
            "reason": reason,
            "metadata": metadata or {},
        }
        if field is not None:
            self.body["field"] = field

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.body}, status_code=self.status, headers=self.headers)


def _invalid(description: str, field: str | None = None) -> ApiError:
    return ApiError(
        description,
        field=field,
        reason="input_validation_failed",
        source="business",
        step="payment_initiation",
    )


# --- fault injection ------------------------------------------------------------------------

Phase = Literal["before", "after"]


@dataclass(slots=True)
class _Fault:
    path: str
    method: str | None
    status: int | None
    delay: float
    count: int
    phase: Phase
    retry_after: str | None
    html: bool
    skip: int = 0
    rate: float | None = None  # apply to this share of matching requests (seeded), not all
    rng: random.Random | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and fnmatch.fnmatchcase(
            path, self.path
        )

    def describe(self) -> Json:
        return {
            "path": self.path,
            "method": self.method,
            "status": self.status,
            "delay": self.delay,
            "count": self.count,
            "phase": self.phase,
            "retry_after": self.retry_after,
            "body": "html" if self.html else "json",
            "skip": self.skip,
        }


_FAULT_TEXT = {
    429: ("BAD_REQUEST_ERROR", "Request failed. Please try after sometime."),
    500: ("SERVER_ERROR", "The server encountered an error. The incident has been reported."),
    502: ("GATEWAY_ERROR", "The gateway encountered an error."),
    504: ("GATEWAY_ERROR", "The gateway request timed out."),
}


def _fault_response(fault: _Fault) -> Response:
    assert fault.status is not None
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
    if fault.html:
        return Response(
            f"<html><body><h1>{fault.status}</h1></body></html>",
            status_code=fault.status,
            media_type="text/html",
            headers=headers,
        )
    code, description = _FAULT_TEXT.get(
        fault.status,
        ("SERVER_ERROR" if fault.status >= 500 else "BAD_REQUEST_ERROR", "Injected failure."),
    )
    return ApiError(description, status=fault.status, code=code, headers=headers).response()


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :] or "/"
    return path


class _FaultInjector:
    """ASGI middleware: a matching fault answers an error and/or delays the answer, either
    without touching state ("before") or after the request was fully processed ("after": the
    gateway acted but the caller cannot know)."""

    def __init__(self, app: ASGIApp, sandbox: _Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fault = self.sandbox.take_fault(scope["method"], _route_path(scope))
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.phase == "before":
            # Read the request first: a delayed request still lands after its sender gave up.
            chunks: list[Message] = []
            while not chunks or chunks[-1].get("more_body", False):
                chunks.append(await receive())
                if chunks[-1]["type"] != "http.request":
                    return
            await asyncio.sleep(fault.delay)

            async def replay() -> Message:
                return chunks.pop(0) if chunks else {"type": "http.disconnect"}

            if fault.status is None:
                await self.app(scope, replay, send)
            else:
                await _fault_response(fault)(scope, replay, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(fault.delay)
        if fault.status is not None:
            await _fault_response(fault)(scope, receive, send)
            return
        for message in held:
            await send(message)


# --- state ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Delivery:
    event_id: str
    event: str
    attempts: int = 0
    statuses: list[str] = field(default_factory=list)
    delivered: bool = False
    gave_up: bool = False
    dropped: bool = False


@dataclass(slots=True)
class _Webhook:
    event_id: str
    event: str
    body: bytes
    delivery: _Delivery


@dataclass(slots=True)
class _OrderRules:
    partial_payment: bool
    auto_capture: bool | None


@dataclass(slots=True)
class _Settings:
    auto_capture: bool
    refund_mode: Literal["processed", "pending"] = "processed"
    # In "pending" mode, refunds settle as processed after this many seconds (None: when told).
    refund_settle_seconds: float | None = None
    order_receipt_unique: bool = False
    webhooks: Literal["deliver", "drop", "hold"] = "deliver"
    duplicate_webhooks: bool = False
    reorder_webhooks: bool = False

    def describe(self) -> Json:
        return {
            "auto_capture": self.auto_capture,
            "refund_mode": self.refund_mode,
            "refund_settle_seconds": self.refund_settle_seconds,
            "order_receipt_unique": self.order_receipt_unique,
            "webhooks": self.webhooks,
            "duplicate_webhooks": self.duplicate_webhooks,
            "reorder_webhooks": self.reorder_webhooks,
        }


class _Sandbox:
    """All state, in memory. Handlers mutate it without awaiting, so each call is atomic."""

    def __init__(self, config: RazorpaySandboxConfig) -> None:
        self.config = config
        self.tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self.reset()

    def reset(self) -> None:
        self.settings = _Settings(auto_capture=self.config.auto_capture)
        self.orders: dict[str, Json] = {}
        self.order_rules: dict[str, _OrderRules] = {}
        self.payments: dict[str, Json] = {}
        self.cards: dict[str, Json] = {}  # payment id -> card entity (last4/network only)
        self.tokens: dict[str, Json] = {}  # saved-card token -> card entity (never the number)
        self.emi: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.idempotency: dict[str, tuple[str, str]] = {}  # key -> (fingerprint, refund id)
        self.faults: list[_Fault] = []
        self.held: list[_Webhook] = []
        self.deliveries: list[_Delivery] = []

    def now(self) -> int:
        return int(self.config.clock())

    # faults

    def take_fault(self, method: str, path: str) -> _Fault | None:
        if path == "/_control":
            return None
        for fault in self.faults:
            if fault.matches(method, path):
                if fault.skip > 0:  # let this one through untouched
                    fault.skip -= 1
                    return None
                if (
                    fault.rate is not None
                    and fault.rng is not None
                    and fault.rng.random() >= fault.rate
                ):
                    continue  # not this time; another fault may still apply
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # lookups

    def order(self, order_id: str) -> Json:
        return self._lookup(self.orders, order_id)

    def payment(self, payment_id: str) -> Json:
        return self._lookup(self.payments, payment_id)

    def refund(self, refund_id: str) -> Json:
        return self._lookup(self.refunds, refund_id)

    @staticmethod
    def _lookup(table: dict[str, Json], entity_id: str) -> Json:
        if not _ID_RE.match(entity_id):
            raise ApiError(f"{entity_id} is not a valid id", field="id")
        found = table.get(entity_id)
        if found is None:
            raise ApiError("The id provided does not exist")
        return found

    def public_payment(self, payment: Json, expand: Iterable[str] = ()) -> Json:
        shown = dict(payment)
        if "card" in expand and payment["id"] in self.cards:
            shown["card"] = self.cards[payment["id"]]
        if "emi" in expand and payment["id"] in self.emi:
            shown["emi"] = self.emi[payment["id"]]
        return shown

    # webhooks

    def emit(self, events: list[tuple[str, Json]]) -> None:
        """Queue webhooks for one API call; delivery happens on a background task so the API
        answer never waits for the merchant's endpoint."""
        if not (self.config.webhook_url and self.config.webhook_secret):
            return
        hooks = [self._webhook(name, payload) for name, payload in events]
        mode = self.settings.webhooks
        if mode == "drop":
            for hook in hooks:
                hook.delivery.dropped = True
            return
        if mode == "hold":
            self.held.extend(hooks)
            return
        self.dispatch(hooks)

    def dispatch(self, hooks: list[_Webhook]) -> None:
        if self.settings.reorder_webhooks:
            hooks = hooks[::-1]
        if self.settings.duplicate_webhooks:
            hooks = [twin for hook in hooks for twin in (hook, self._duplicate(hook))]
        self.spawn(self._deliver_in_order(hooks))

    def _webhook(self, name: str, payload: Json) -> _Webhook:
        event_id = _new_id()
        envelope = {
            "entity": "event",
            "account_id": self.config.account_id,
            "event": name,
            "contains": list(payload),
            "payload": {key: {"entity": copy.deepcopy(value)} for key, value in payload.items()},
            "created_at": self.now(),
        }
        delivery = _Delivery(event_id=event_id, event=name)
        self.deliveries.append(delivery)
        return _Webhook(event_id, name, _compact(envelope), delivery)

    def _duplicate(self, hook: _Webhook) -> _Webhook:
        delivery = _Delivery(event_id=hook.event_id, event=hook.event)
        self.deliveries.append(delivery)
        return _Webhook(hook.event_id, hook.event, hook.body, delivery)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver_in_order(self, hooks: list[_Webhook]) -> None:
        # First attempts go out in order; a failed one retries on its own task so a dead
        # endpoint does not hold back later events (Razorpay promises no order anyway).
        for hook in hooks:
            if not await self._attempt(hook):
                self.spawn(self._retry(hook))

    async def _retry(self, hook: _Webhook) -> None:
        for wait in WEBHOOK_RETRY_WAITS:
            await asyncio.sleep(wait / self.config.speed)
            if await self._attempt(hook):
                return
        hook.delivery.gave_up = True
        log.warning(
            "webhook %s (%s) given up after %d attempts",
            hook.event_id,
            hook.event,
            hook.delivery.attempts,
        )

    async def _attempt(self, hook: _Webhook) -> bool:
        secret, url = self.config.webhook_secret, self.config.webhook_url
        assert secret is not None and url is not None
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Razorpay-Webhook/v1",
            "X-Razorpay-Signature": _hmac_hex(secret, hook.body),
            "X-Razorpay-Event-Id": hook.event_id,
            "Request-Id": hook.event_id,
        }
        hook.delivery.attempts += 1
        try:
            answer = await self._webhook_client().post(url, content=hook.body, headers=headers)
        except httpx.HTTPError as exc:
            hook.delivery.statuses.append(type(exc).__name__)
            return False
        hook.delivery.statuses.append(str(answer.status_code))
        hook.delivery.delivered = answer.is_success
        return answer.is_success

    def _webhook_client(self) -> httpx.AsyncClient:
        # One pooled client per event loop (a client cannot outlive the loop it was made on).
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            self._http = httpx.AsyncClient(timeout=self.config.webhook_timeout)
            self._http_loop = loop
        return self._http

    async def aclose(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None and self._http_loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None


# --- request helpers ------------------------------------------------------------------------


def _check_auth(request: Request, config: RazorpaySandboxConfig) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme != "Basic" or not encoded:  # Razorpay accepts exactly "Basic"
        raise ApiError("Please provide your api key for authentication purposes.", status=401)
    try:
        key_id, _, secret = b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise ApiError("The api key provided is invalid", status=401) from None
    if not hmac.compare_digest(key_id.encode(), config.key_id.encode()):
        raise ApiError("The api key provided is invalid", status=401)
    if not secret:
        raise ApiError("Please provide api secret", status=401)
    if not hmac.compare_digest(secret.encode(), config.key_secret.encode()):
        raise ApiError("The api secret provided is invalid", status=401)


async def _json_body(request: Request) -> Json:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _invalid("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    return body


def _only(body: Json, allowed: Iterable[str]) -> None:
    for key in body:
        if key not in allowed:
            raise _invalid(f"{key} is/are not required and should not be sent", key)


def _int_field(body: Json, key: str, *, required: bool) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _invalid(f"The {key} field is required.", key)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"The {key} must be an integer.", key)
    return value


def _notes(value: object) -> Json | list[Any]:
    if value is None or value == []:
        return []  # Razorpay (PHP) serialises empty notes as a list
    if not isinstance(value, dict):
        raise _invalid("The notes field must be an object.", "notes")
    if len(value) > 15:
        raise _invalid("Number of notes is more than allowed limit of 15.", "notes")
    for note in value.values():
        if not isinstance(note, str | int | float) or len(str(note)) > 256:
            raise _invalid("Notes values must be strings of at most 256 characters.", "notes")
    return dict(value) if value else []


def _min_amount(amount: int, currency: str) -> None:
    if amount < 100:
        raise _invalid(f"The amount must be at least {currency} 1.00", "amount")


def _collection(items: list[Json]) -> JSONResponse:
    return JSONResponse({"entity": "collection", "count": len(items), "items": items})


def _page(request: Request, items: list[Json]) -> list[Json]:
    params = request.query_params
    try:
        count = int(params.get("count", "10"))
        skip = int(params.get("skip", "0"))
        start = int(params["from"]) if "from" in params else None
        end = int(params["to"]) if "to" in params else None
    except ValueError:
        raise _invalid("count, skip, from and to must be integers.") from None
    if not 1 <= count <= 100:
        raise _invalid("The count must be between 1 and 100.", "count")
    if start is not None:
        items = [i for i in items if i["created_at"] >= start]
    if end is not None:
        items = [i for i in items if i["created_at"] <= end]
    return items[skip : skip + count]


# --- the application ------------------------------------------------------------------------


def create_razorpay_sandbox(config: RazorpaySandboxConfig) -> Starlette:
    """Build the sandbox app. Its state lives on `app.state.razorpay_sandbox`; call its
    `aclose()` when mounted inside another app (a mounted app's lifespan does not run) to
    cancel pending webhook deliveries."""
    sandbox = _Sandbox(config)

    def api(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            _check_auth(request, config)
            return await handler(request)

        return endpoint

    # orders

    async def create_order(request: Request) -> Response:
        body = await _json_body(request)
        _only(
            body,
            {
                "amount",
                "currency",
                "receipt",
                "notes",
                "partial_payment",
                "first_payment_min_amount",
                "payment_capture",
                "payment",
                "customer_id",
                "method",
            },
        )
        amount = _int_field(body, "amount", required=True)
        assert amount is not None
        currency = body.get("currency")
        if currency is None:
            raise _invalid("The currency field is required.", "currency")
        if currency not in CURRENCIES:
            raise _invalid("The selected currency is invalid.", "currency")
        _min_amount(amount, currency)
        if currency in THREE_DECIMAL and amount % 10:
            raise _invalid("The last digit of the amount must be 0 for this currency.", "amount")
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise _invalid("The receipt may not be greater than 40 characters.", "receipt")
        if sandbox.settings.order_receipt_unique:
            if receipt is None:
                raise _invalid("The receipt field is required.", "receipt")
            if any(o["receipt"] == receipt for o in sandbox.orders.values()):
                raise _invalid("Receipt should be unique.", "receipt")
        partial = body.get("partial_payment", False)
        if not isinstance(partial, bool):
            raise _invalid("The partial payment field must be true or false.", "partial_payment")
        sandbox_capture: bool | None = None
        if isinstance(body.get("payment_capture"), bool | int):
            sandbox_capture = bool(body["payment_capture"])
        payment_options = body.get("payment")
        if payment_options is not None:
            mode = payment_options.get("capture") if isinstance(payment_options, dict) else None
            if mode not in ("automatic", "manual"):
                raise _invalid("payment.capture must be automatic or manual.", "payment.capture")
            sandbox_capture = mode == "automatic"
        order = {
            "id": _new_id("order"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": _notes(body.get("notes")),
            "created_at": sandbox.now(),
        }
        sandbox.orders[order["id"]] = order
        sandbox.order_rules[order["id"]] = _OrderRules(partial, sandbox_capture)
        return JSONResponse(order)

    async def list_orders(request: Request) -> Response:
        orders = list(sandbox.orders.values())[::-1]  # newest first, like Razorpay
        receipt = request.query_params.get("receipt")
        if receipt is not None:
            orders = [o for o in orders if o["receipt"] == receipt]
        authorized = request.query_params.get("authorized")
        if authorized in ("0", "1"):
            paid_orders = {
                p["order_id"]
                for p in sandbox.payments.values()
                if p["status"] in ("authorized", "captured", "refunded")
            }
            orders = [o for o in orders if (o["id"] in paid_orders) == (authorized == "1")]
        return _collection(_page(request, orders))

    async def fetch_order(request: Request) -> Response:
        return JSONResponse(sandbox.order(request.path_params["order_id"]))

    async def order_payments(request: Request) -> Response:
        order = sandbox.order(request.path_params["order_id"])
        payments = [
            sandbox.public_payment(p)
            for p in reversed(sandbox.payments.values())
            if p["order_id"] == order["id"]
        ]
        return _collection(payments)

    # payments

    async def fetch_payment(request: Request) -> Response:
        payment = sandbox.payment(request.path_params["payment_id"])
        expand = request.query_params.getlist("expand[]")
        return JSONResponse(sandbox.public_payment(payment, expand))

    async def capture_payment(request: Request) -> Response:
        payment = sandbox.payment(request.path_params["payment_id"])
        body = await _json_body(request)
        _only(body, {"amount", "currency"})
        amount = _int_field(body, "amount", required=True)
        currency = body.get("currency")
        if currency is None:
            raise _invalid("The currency field is required.", "currency")
        if payment["status"] in ("captured", "refunded"):
            raise ApiError("This payment has already been captured")
        if payment["status"] != "authorized":
            raise ApiError(
                "Only payments which have been authorized and not yet captured can be captured"
            )
        if amount != payment["amount"]:
            raise _invalid("Capture amount must be equal to the amount authorized", "amount")
        if currency != payment["currency"]:
            raise _invalid("Capture request currency must be same as payment currency", "currency")
        sandbox.emit(_capture(sandbox, payment))
        return JSONResponse(sandbox.public_payment(payment))

    # refunds

    async def create_refund(request: Request) -> Response:
        payment = sandbox.payment(request.path_params["payment_id"])
        body = await _json_body(request)
        key = request.headers.get("x-refund-idempotency")
        fingerprint = ""
        if key is not None:
            if len(key) < 10:
                raise _invalid("The idempotency key must be at least 10 characters long.")
            if not _IDEMPOTENCY_KEY_RE.match(key):
                raise _invalid(
                    "The idempotency key must only contain alphanumeric characters, "
                    "underscores, and hyphens"
                )
            fingerprint = payment["id"] + json.dumps(body, sort_keys=True)
            seen = sandbox.idempotency.get(key)
            if seen is not None:
                if seen[0] != fingerprint:
                    raise ApiError(
                        "Different request with the same idempotency key has already been "
                        "processed.",
                        status=409,
                    )
                return JSONResponse(sandbox.refunds[seen[1]])
        _only(body, {"amount", "speed", "notes", "receipt"})
        amount = _int_field(body, "amount", required=False)
        speed = body.get("speed", "normal")
        if speed not in ("normal", "optimum"):
            raise _invalid("The selected speed is invalid.", "speed")
        if payment["status"] == "refunded":
            raise ApiError("The payment has been fully refunded already")
        if payment["status"] != "captured":
            raise ApiError("The payment status should be captured for action to be taken")
        remaining = payment["amount"] - payment["amount_refunded"]
        if amount is None:
            amount = remaining
        _min_amount(amount, payment["currency"])
        if amount > remaining:
            raise _invalid("The refund amount provided is greater than amount captured", "amount")
        refund = {
            "id": _new_id("rfnd"),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment["id"],
            "notes": _notes(body.get("notes")),
            "receipt": body.get("receipt"),
            "acquirer_data": {"arn": None},
            "created_at": sandbox.now(),
            "batch_id": None,
            "status": "pending",
            "speed_processed": "normal",
            "speed_requested": speed,
        }
        sandbox.refunds[refund["id"]] = refund
        if key is not None:
            sandbox.idempotency[key] = (fingerprint, refund["id"])
        payment["amount_refunded"] += amount
        _refund_totals(payment)
        events = [("refund.created", {"refund": refund, "payment": payment})]
        if sandbox.settings.refund_mode == "processed":
            refund["status"] = "processed"
            events[0] = (
                "refund.created",
                {"refund": dict(refund, status="pending"), "payment": payment},
            )
            events.append(("refund.processed", {"refund": refund, "payment": payment}))
        elif sandbox.settings.refund_settle_seconds is not None:
            sandbox.spawn(
                _settle_later(sandbox, refund["id"], sandbox.settings.refund_settle_seconds)
            )
        sandbox.emit(events)
        return JSONResponse(refund)

    async def payment_refunds(request: Request) -> Response:
        payment = sandbox.payment(request.path_params["payment_id"])
        refunds = [
            r for r in reversed(sandbox.refunds.values()) if r["payment_id"] == payment["id"]
        ]
        return _collection(_page(request, refunds))

    async def payment_refund(request: Request) -> Response:
        payment = sandbox.payment(request.path_params["payment_id"])
        refund = sandbox.refund(request.path_params["refund_id"])
        if refund["payment_id"] != payment["id"]:
            raise ApiError("The id provided does not exist")
        return JSONResponse(refund)

    async def fetch_refund(request: Request) -> Response:
        return JSONResponse(sandbox.refund(request.path_params["refund_id"]))

    async def list_refunds(request: Request) -> Response:
        return _collection(_page(request, list(sandbox.refunds.values())[::-1]))

    async def methods(request: Request) -> Response:
        # What Checkout may offer this account (Razorpay: key id only, no secret needed).
        return JSONResponse(
            {
                "entity": "methods",
                "card": True,
                "upi": True,
                "emi": True,
                "netbanking": dict(sorted(BANK_NAMES.items())),
                "wallet": {name: True for name in sorted(WALLETS)},
                "emi_plans": {
                    network: {
                        "min_amount": 250000,
                        "plans": {str(d): 15 for d in sorted(EMI_DURATIONS)},
                    }
                    for network in ("Visa", "MasterCard", "RuPay")
                },
            }
        )

    # checkout stand-in (no API auth: it plays the browser, which only knows the key id)

    async def checkout_pay(request: Request) -> Response:
        try:
            order = sandbox.order(request.path_params["order_id"])
            body = await _json_body(request)
            return _pay(sandbox, order, body)
        except ApiError as exc:
            return exc.response()

    # control

    async def control_get(request: Request) -> Response:
        return JSONResponse(_control_state(sandbox))

    async def control_post(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            _control_post(sandbox, body)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(_control_state(sandbox))

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def not_found(request: Request, exc: Exception) -> Response:
        return ApiError("The requested URL was not found on the server.").response()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sandbox.aclose()

    routes = [
        Route("/v1/orders", api(create_order), methods=["POST"]),
        Route("/v1/orders", api(list_orders), methods=["GET"]),
        Route("/v1/orders/{order_id}", api(fetch_order), methods=["GET"]),
        Route("/v1/orders/{order_id}/payments", api(order_payments), methods=["GET"]),
        Route("/v1/payments/{payment_id}", api(fetch_payment), methods=["GET"]),
        Route("/v1/payments/{payment_id}/capture", api(capture_payment), methods=["POST"]),
        Route("/v1/payments/{payment_id}/refund", api(create_refund), methods=["POST"]),
        Route("/v1/payments/{payment_id}/refunds", api(payment_refunds), methods=["GET"]),
        Route(
            "/v1/payments/{payment_id}/refunds/{refund_id}", api(payment_refund), methods=["GET"]
        ),
        Route("/v1/refunds", api(list_refunds), methods=["GET"]),
        Route("/v1/refunds/{refund_id}", api(fetch_refund), methods=["GET"]),
        Route("/v1/methods", methods, methods=["GET"]),
        Route("/checkout/{order_id}/pay", checkout_pay, methods=["POST"]),
        Route("/_control", control_get, methods=["GET"]),
        Route("/_control", control_post, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(_FaultInjector, sandbox=sandbox)],
        exception_handlers={ApiError: api_error, HTTPException: not_found},
        lifespan=lifespan,
    )
    app.state.razorpay_sandbox = sandbox
    return app


# --- state transitions ----------------------------------------------------------------------


def _capture(sandbox: _Sandbox, payment: Json) -> list[tuple[str, Json]]:
    payment["status"] = "captured"
    payment["captured"] = True
    fee = payment["amount"] * 2 // 100  # 2% fee, GST 18% of the fee, both in minor units
    tax = fee * 18 // 100
    payment["fee"], payment["tax"] = fee + tax, tax
    order = sandbox.orders[payment["order_id"]]
    order["amount_paid"] += payment["amount"]
    order["amount_due"] = order["amount"] - order["amount_paid"]
    events: list[tuple[str, Json]] = [("payment.captured", {"payment": payment})]
    if order["amount_paid"] >= order["amount"]:
        order["status"] = "paid"
        events.append(("order.paid", {"payment": payment, "order": order}))
    return events


def _refund_totals(payment: Json) -> None:
    refunded = payment["amount_refunded"]
    if refunded <= 0:
        payment["refund_status"] = None
        payment["status"] = "captured"
    elif refunded < payment["amount"]:
        payment["refund_status"] = "partial"
        payment["status"] = "captured"
    else:
        payment["refund_status"] = "full"
        payment["status"] = "refunded"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _network(digits: str) -> str:
    if digits.startswith("4"):
        return "Visa"
    if digits[:2] in ("34", "37"):
        return "American Express"
    if digits[:2] in ("36", "38") or digits[:3] in ("300", "301", "302", "303", "304", "305"):
        return "Diners Club"
    if digits[:2] in ("60", "65", "81", "82") or digits.startswith("508"):
        return "RuPay"
    if "51" <= digits[:2] <= "55" or "2221" <= digits[:4] <= "2720":
        return "MasterCard"
    return "Unknown"


def _card(body: Json) -> tuple[Json, _Failure | None]:
    """Read the card number, decide the outcome, and return only what may be kept."""
    raw = body.get("card_number")
    if not isinstance(raw, str | int):
        raise _invalid("The card number field is required.", "card_number")
    digits = re.sub(r"[\s-]", "", str(raw))
    known = digits in _DOMESTIC_CARDS or digits in _INTERNATIONAL_CARDS
    failure = _CARD_FAILURES.get(digits)
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise _invalid("The card number is invalid.", "card_number")
    if not (known or failure or _luhn_ok(digits)):
        raise _invalid("The card number is invalid.", "card_number")
    card = {
        "id": _new_id("card"),
        "entity": "card",
        "name": "",
        "last4": digits[-4:],
        "network": _network(digits),
        "type": "credit",
        "issuer": None,
        "international": digits in _INTERNATIONAL_CARDS,
        "emi": digits == "5241810000000000",
        "sub_type": "consumer",
    }
    return card, failure


def _pay(sandbox: _Sandbox, order: Json, body: Json) -> Response:
    method = body.get("method")
    if method not in METHODS:
        raise _invalid("Invalid payment method", "method")
    if order["currency"] != "INR" and method != "card":
        raise _invalid(f"{method} is not supported for {order['currency']} payments", "method")
    rules = sandbox.order_rules[order["id"]]
    taken = [
        p
        for p in sandbox.payments.values()
        if p["order_id"] == order["id"] and p["status"] in ("authorized", "captured", "refunded")
    ]
    if order["status"] == "paid" or (taken and not rules.partial_payment):
        raise ApiError(
            "Payment already done for this order.",
            reason="order_already_paid",
            source="business",
            step="payment_initiation",
        )

    card: Json | None = None
    failure: _Failure | None = None
    extra: Json = {}
    outcome = body.get("outcome", "success")
    if outcome not in ("success", "failure"):
        raise _invalid("outcome must be success or failure", "outcome")
    if method == "card" and body.get("token") is not None:
        # A saved card: Checkout sends the token Razorpay issued, never a card number.
        saved = sandbox.tokens.get(str(body["token"]))
        if saved is None:
            raise _invalid("The token is invalid or was not issued to this merchant.", "token")
        card, failure = saved, None
    elif method in ("card", "emi"):
        card, failure = _card(body)
        if method == "emi":
            duration = body.get("emi_duration")
            if duration not in EMI_DURATIONS:
                raise _invalid("The selected emi duration is invalid.", "emi_duration")
            extra["emi_plan"] = {"issuer": card["network"], "rate": 1500, "duration": duration}
    elif method == "upi":
        vpa = body.get("vpa")
        if (
            not isinstance(vpa, str)
            or not _VPA_RE.match(vpa)
            or vpa
            not in (
                "success@razorpay",
                "failure@razorpay",
            )
        ):
            raise ApiError(
                "Invalid VPA. Please enter a valid Virtual Payment Address",
                field="vpa",
                reason="invalid_vpa",
                source="customer",
                step="payment_initiation",
            )
        extra["vpa"] = vpa
        extra["upi"] = {"payer_account_type": "bank_account", "vpa": vpa, "flow": "collect"}
        failure = _PAYMENT_FAILED if vpa == "failure@razorpay" else None
    elif method == "netbanking":
        if body.get("bank") not in BANKS:
            raise _invalid("The selected bank is invalid.", "bank")
        extra["bank"] = body["bank"]
        failure = _PAYMENT_FAILED if outcome == "failure" else None
    else:
        if body.get("wallet") not in WALLETS:
            raise _invalid("The selected wallet is invalid.", "wallet")
        extra["wallet"] = body["wallet"]
        failure = _PAYMENT_FAILED if outcome == "failure" else None

    payment: Json = {
        "id": _new_id("pay"),
        "entity": "payment",
        "amount": order["amount_due"],
        "currency": order["currency"],
        "status": "created",
        "order_id": order["id"],
        "invoice_id": None,
        "international": bool(card and card["international"]),
        "method": method,
        "amount_refunded": 0,
        "refund_status": None,
        "captured": False,
        "description": None,
        "card_id": card["id"] if card else None,
        "bank": None,
        "wallet": None,
        "vpa": None,
        "email": "void@razorpay.com",
        "contact": "+919000090000",
        "customer_id": None,
        "token_id": body.get("token") if card and body.get("token") else None,
        "notes": [],
        "fee": None,
        "tax": None,
        "error_code": None,
        "error_description": None,
        "error_source": None,
        "error_step": None,
        "error_reason": None,
        "acquirer_data": {},
        "created_at": sandbox.now(),
    }
    payment.update(extra)
    sandbox.payments[payment["id"]] = payment
    if card is not None:
        sandbox.cards[payment["id"]] = card
    if "emi_plan" in extra:
        sandbox.emi[payment["id"]] = extra["emi_plan"]
    order["attempts"] += 1
    if order["status"] == "created":
        order["status"] = "attempted"

    if failure is not None:
        payment.update(
            status="failed",
            error_code=failure.code,
            error_description=failure.description,
            error_source=failure.source,
            error_step=failure.step,
            error_reason=failure.reason,
        )
        sandbox.emit([("payment.failed", {"payment": payment})])
        metadata = {"payment_id": payment["id"], "order_id": order["id"]}
        raise ApiError(
            failure.description,
            code=failure.code,
            reason=failure.reason,
            source=failure.source,
            step=failure.step,
            metadata=metadata,
        )

    if card is not None and body.get("save") and not body.get("token"):
        payment["token_id"] = _new_id("token")
        sandbox.tokens[payment["token_id"]] = card
    payment["status"] = "authorized"
    payment["acquirer_data"] = {"auth_code": _new_id()[:6].upper()}
    events: list[tuple[str, Json]] = [("payment.authorized", {"payment": payment})]
    auto = rules.auto_capture if rules.auto_capture is not None else sandbox.settings.auto_capture
    if auto:
        # The authorized snapshot is taken now, before capture changes the payment.
        events = [("payment.authorized", {"payment": copy.deepcopy(payment)})]
        events += _capture(sandbox, payment)
    sandbox.emit(events)
    signature = _hmac_hex(sandbox.config.key_secret, f"{order['id']}|{payment['id']}".encode())
    return JSONResponse(
        {
            "razorpay_payment_id": payment["id"],
            "razorpay_order_id": order["id"],
            "razorpay_signature": signature,
        }
    )


# --- /_control ------------------------------------------------------------------------------


def _control_state(sandbox: _Sandbox) -> Json:
    return {
        "settings": sandbox.settings.describe(),
        "faults": [fault.describe() for fault in sandbox.faults],
        "held_webhooks": [hook.event for hook in sandbox.held],
        "deliveries": [
            {
                "event_id": d.event_id,
                "event": d.event,
                "attempts": d.attempts,
                "statuses": d.statuses,
                "delivered": d.delivered,
                "gave_up": d.gave_up,
                "dropped": d.dropped,
            }
            for d in sandbox.deliveries
        ],
        "counts": {
            "orders": len(sandbox.orders),
            "payments": len(sandbox.payments),
            "refunds": len(sandbox.refunds),
        },
    }


def _control_post(sandbox: _Sandbox, body: Json) -> None:
    """Actions (JSON body, "action" picks one):

    - {"action": "reset"}: forget every entity, fault, setting and webhook record.
    - {"action": "fault", "path": "/v1/orders" (fnmatch pattern, e.g. "/v1/payments/*/refund"),
       "method": "POST"|null (any), "status": 429|500|503|...|null (answer normally),
       "delay": seconds, "count": N (default 1), "phase": "before"|"after",
       "retry_after": seconds|null, "body": "json"|"html", "skip": M (default 0)}: after
       letting M matching requests through, the next N fail. With "rate": 0.3 (and "seed"),
       each matching request fails with that probability, deterministically for a seed.
       "before" reads the request, waits `delay`, then answers `status` without processing (or, with no status,
       processes it late); "after" processes first, then waits and/or replaces the answer -
       the way to make a caller time out on an order that exists.
    - {"action": "clear_faults"}
    - {"action": "configure", any of "refund_settle_seconds": seconds|null,
       "auto_capture": bool, "refund_mode": "processed"|"pending", "order_receipt_unique": bool, "webhooks":
       "deliver"|"drop"|"hold", "duplicate_webhooks": bool, "reorder_webhooks": bool}
    - {"action": "release_webhooks", "order": "fifo"|"reverse"|"shuffle", "seed": any,
       "copies": 1-5, "concurrency": 1-64}: send held webhooks, each `copies` times (same event
       id, as Razorpay's redeliveries), over `concurrency` parallel lanes.
    - {"action": "settle_refund", "refund_id": ..., "status": "processed"|"failed"}
    - {"action": "late_authorize", "payment_id": ...}: failed -> authorized, with
       late_authorized: true on the payment.authorized webhook.
    - {"action": "alter_payment", "payment_id": ..., "amount"?: N, "currency"?: C}: rewrite a
       payment's amount and/or currency (no webhook), so the merchant's record and Razorpay's
       disagree - the drift reconciliation must report, never copy over.
    """
    action = body.get("action")
    if action == "reset":
        for task in list(sandbox.tasks):
            task.cancel()
        sandbox.reset()
    elif action == "fault":
        phase = body.get("phase", "before")
        status = body.get("status")
        if phase not in ("before", "after"):
            raise ValueError("phase must be before or after")
        if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
            raise ValueError("status must be an HTTP error status or null")
        rate = body.get("rate")
        if rate is not None and not (isinstance(rate, int | float) and 0 < rate <= 1):
            raise ValueError("rate must be a share between 0 and 1")
        # A rate fault applies to that share of matching requests until cleared (or `count`).
        count = int(body.get("count", 1 if rate is None else 1_000_000))
        if count < 1:
            raise ValueError("count must be at least 1")
        retry_after = body.get("retry_after")
        sandbox.faults.append(
            _Fault(
                path=str(body["path"]),
                method=str(body["method"]).upper() if body.get("method") else None,
                status=status,
                delay=float(body.get("delay", 0.0)),
                count=count,
                phase=phase,
                retry_after=str(retry_after) if retry_after is not None else None,
                html=body.get("body") == "html",
                skip=int(body.get("skip", 0)),
                rate=float(rate) if rate is not None else None,
                rng=random.Random(body.get("seed")) if rate is not None else None,  # noqa: S311
            )
        )
    elif action == "clear_faults":
        sandbox.faults.clear()
    elif action == "configure":
        _configure(sandbox.settings, body)
    elif action == "release_webhooks":
        held, sandbox.held = sandbox.held, []
        copies = int(body.get("copies", 1))
        if not 1 <= copies <= 5:
            raise ValueError("copies must be between 1 and 5")
        held = [
            twin
            for hook in held
            for twin in [hook, *(sandbox._duplicate(hook) for _ in range(copies - 1))]
        ]
        order = body.get("order", "fifo")
        if order == "reverse":
            held.reverse()
        elif order == "shuffle":
            random.Random(body.get("seed")).shuffle(held)  # noqa: S311 - test delivery order
        elif order != "fifo":
            raise ValueError("order must be fifo, reverse or shuffle")
        concurrency = int(body.get("concurrency", 1))
        if not 1 <= concurrency <= 64:
            raise ValueError("concurrency must be between 1 and 64")
        for lane in range(concurrency):
            sandbox.spawn(sandbox._deliver_in_order(held[lane::concurrency]))
    elif action == "settle_refund":
        _settle_refund(sandbox, str(body["refund_id"]), body.get("status", "processed"))
    elif action == "late_authorize":
        _late_authorize(sandbox, str(body["payment_id"]))
    elif action == "alter_payment":
        _alter_payment(sandbox, str(body["payment_id"]), body)
    else:
        raise ValueError(f"unknown action {action!r}")


def _configure(settings: _Settings, body: Json) -> None:
    choices: dict[str, tuple[object, ...]] = {
        "auto_capture": (True, False),
        "refund_mode": ("processed", "pending"),
        "order_receipt_unique": (True, False),
        "webhooks": ("deliver", "drop", "hold"),
        "duplicate_webhooks": (True, False),
        "reorder_webhooks": (True, False),
    }
    for key, value in body.items():
        if key == "action":
            continue
        if key == "refund_settle_seconds":
            if value is not None and not (isinstance(value, int | float) and 0 <= value <= 3600):
                raise ValueError("refund_settle_seconds must be 0-3600 seconds or null")
            settings.refund_settle_seconds = None if value is None else float(value)
            continue
        if key not in choices or value not in choices[key] or type(value) is int:
            raise ValueError(f"cannot set {key} to {value!r}")
        setattr(settings, key, value)


async def _settle_later(sandbox: _Sandbox, refund_id: str, seconds: float) -> None:
    await asyncio.sleep(seconds)
    if sandbox.refunds.get(refund_id, {}).get("status") == "pending":
        _settle_refund(sandbox, refund_id, "processed")


def _settle_refund(sandbox: _Sandbox, refund_id: str, status: object) -> None:
    refund = sandbox.refunds.get(refund_id)
    if refund is None or refund["status"] != "pending":
        raise ValueError(f"no pending refund {refund_id}")
    if status not in ("processed", "failed"):
        raise ValueError("status must be processed or failed")
    payment = sandbox.payments[refund["payment_id"]]
    refund["status"] = status
    if status == "failed":
        payment["amount_refunded"] -= refund["amount"]
        _refund_totals(payment)
    sandbox.emit([(f"refund.{status}", {"refund": refund, "payment": payment})])


def _late_authorize(sandbox: _Sandbox, payment_id: str) -> None:
    payment = sandbox.payments.get(payment_id)
    if payment is None or payment["status"] != "failed":
        raise ValueError(f"no failed payment {payment_id}")
    payment.update(
        status="authorized",
        late_authorized=True,
        error_code=None,
        error_description=None,
        error_source=None,
        error_step=None,
        error_reason=None,
    )
    sandbox.emit([("payment.authorized", {"payment": payment})])


def _alter_payment(sandbox: _Sandbox, payment_id: str, body: Json) -> None:
    payment = sandbox.payments.get(payment_id)
    if payment is None:
        raise ValueError(f"no payment {payment_id}")
    amount = body.get("amount", payment["amount"])
    currency = body.get("currency", payment["currency"])
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
        raise ValueError("amount must be an integer of at least 100 minor units")
    if currency not in CURRENCIES:
        raise ValueError(f"currency must be one of {sorted(CURRENCIES)}")
    payment.update(amount=amount, currency=currency)

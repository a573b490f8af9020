"""RazorpayGateway: gateways.base.PaymentGateway over Razorpay's REST API with httpx."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from domain.gateways import MIN_AMOUNT_MINOR as MIN_AMOUNTS
from gateways.base import (
    CheckoutProof,
    CreateOrderRequest,
    Gateway,
    GatewayError,
    GatewayEvent,
    GatewayOrder,
    GatewayOutcomeUnknown,
    GatewayPayment,
    GatewayRefund,
    GatewayRejected,
    GatewayUnavailable,
    MethodKind,
    RefundRequest,
    UnsupportedMethod,
    WebhookVerificationFailed,
)
from gateways.razorpay import mapping
from gateways.razorpay.config import RazorpayConfig

_S = TypeVar("_S")
_T = TypeVar("_T")
log = logging.getLogger("paygraph.gateways.razorpay")

GATEWAY = Gateway.RAZORPAY
MIN_AMOUNT_MINOR = MIN_AMOUNTS[Gateway.RAZORPAY]
RAZORPAY_API = "https://api.razorpay.com"
RAZORPAY_CHECKOUT_JS = "https://checkout.razorpay.com/v1/checkout.js"
# Cards settle in INR and, for international cards, USD: the one non-INR currency every version
# of Razorpay's order validator accepted (reference §10). Other methods are INR only.
CARD_CURRENCIES = frozenset({"INR", "USD"})
MAX_RECEIPT_LENGTH = 40
MAX_NOTES = 15
MAX_NOTE_VALUE_LENGTH = 256
_PAGE = 100  # the most items Razorpay lists per request

_ID_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{10,}$")
_ALREADY_CAPTURED = "already been captured"
# Failures that happen before a byte of the request reaches Razorpay: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _path_id(value: str, what: str) -> str:
    """Ids go into URL paths; refuse anything that could change the path."""
    if not _ID_RE.match(value):
        raise ValueError(f"{what} {value!r} is not a Razorpay id")
    return value


class RazorpayGateway:
    """Razorpay adapter. Construct once per process (it owns a connection pool); `aclose()` it."""

    name: Gateway = GATEWAY

    def __init__(
        self, config: RazorpayConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._config = config
        self._client = httpx.AsyncClient(
            base_url=config.base_url,
            auth=httpx.BasicAuth(config.key_id, config.key_secret),
            timeout=httpx.Timeout(
                # Waiting for a free pooled connection is queueing on our side, not the
                # gateway's slowness: allow it as long as a read.
                config.read_timeout,
                connect=config.connect_timeout,
                pool=config.read_timeout,
            ),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            headers={"Accept": "application/json", "User-Agent": "paygraph-razorpay/1"},
            transport=transport,
        )

    @property
    def public_key(self) -> str:
        return self._config.key_id

    @property
    def checkout_script_url(self) -> str:
        """Razorpay's own checkout.js against the real API; the sandbox's stand-in (same API,
        served beside it) against any other base URL."""
        if self._config.base_url.rstrip("/") == RAZORPAY_API:
            return RAZORPAY_CHECKOUT_JS
        return f"{self._config.base_url.rstrip('/')}/v1/checkout.js"

    def supports(self, method: MethodKind, currency: str, amount_minor: int) -> bool:
        if method not in mapping.METHODS or amount_minor < MIN_AMOUNT_MINOR:
            return False
        if currency == "INR":
            return True
        return method is MethodKind.CARD and currency in CARD_CURRENCIES

    # --- orders -------------------------------------------------------------------------

    async def create_order(self, request: CreateOrderRequest) -> GatewayOrder:
        """Find the order already made for `request.reference`, else create it.

        Razorpay has no idempotency header for orders, so the receipt (our reference) is the
        key: every call first lists orders by receipt (except the first create of a reference
        made in the same call, `request.new_reference`, which looks only after an error
        answer). A retry after a timeout or a 5xx therefore
        returns the order the first attempt made instead of making a second one, whichever
        process retries. A read timeout on the create itself is followed by one immediate
        lookup; only if that also finds nothing does GatewayOutcomeUnknown reach the caller.
        """
        body = self._order_body(request)
        if not request.new_reference:
            existing = await self._find_order(request)
            if existing is not None:
                return existing
        try:
            entity = await self._request("POST", "/v1/orders", json=body, replay_safe=False)
        except GatewayOutcomeUnknown:
            try:
                found = await self._find_order(request)
            except GatewayError:
                found = None
            if found is None:
                raise
            log.info("order for reference %s found after an ambiguous create", request.reference)
            return found
        except GatewayUnavailable as exc:
            if not request.new_reference or isinstance(exc.__cause__, _NOT_SENT):
                raise
            # An error answer (5xx, 429) to a create that skipped the look: the order may
            # exist, and a retry of this same request would not look either. Look now; if that
            # fails too, the outcome is unknown (never retried blindly).
            try:
                found = await self._find_order(request)
            except GatewayError:
                raise GatewayOutcomeUnknown(GATEWAY, f"order create failed: {exc.message}") from exc
            if found is None:
                raise
            return found
        return self._parse(mapping.order_from_entity, entity, replay_safe=False)

    def _order_body(self, request: CreateOrderRequest) -> dict[str, Any]:
        if not self.supports(request.method, request.currency, request.amount_minor):
            raise UnsupportedMethod(
                GATEWAY,
                f"Razorpay does not take {request.method} in {request.currency} for "
                f"{request.amount_minor} minor units",
            )
        if not request.reference or len(request.reference) > MAX_RECEIPT_LENGTH:
            raise ValueError(f"reference must be 1-{MAX_RECEIPT_LENGTH} characters (the receipt)")
        notes = {**request.notes, mapping.NOTE_REFERENCE: request.reference}
        if request.customer_id:
            notes[mapping.NOTE_CUSTOMER] = request.customer_id
        if len(notes) > MAX_NOTES or any(len(v) > MAX_NOTE_VALUE_LENGTH for v in notes.values()):
            raise ValueError(
                f"Razorpay notes take at most {MAX_NOTES} entries of {MAX_NOTE_VALUE_LENGTH} chars"
            )
        body: dict[str, Any] = {
            "amount": request.amount_minor,
            "currency": request.currency,
            "receipt": request.reference,
            "notes": notes,
        }
        if self._config.payment_capture is not None:
            body["payment"] = {"capture": self._config.payment_capture}
        return body

    async def _find_order(self, request: CreateOrderRequest) -> GatewayOrder | None:
        found = await self._request(
            "GET", "/v1/orders", params={"receipt": request.reference, "count": 100}
        )
        items = self._parse(mapping.collection_items, found, replay_safe=True)
        matches = [item for item in items if item.get("receipt") == request.reference]
        if not matches:
            return None
        # Duplicates can only come from outside this adapter; a paid one wins, else the oldest.
        chosen = min(
            matches,
            key=lambda item: (item.get("status") != "paid", item.get("created_at") or 0),
        )
        best = self._parse(mapping.order_from_entity, chosen, replay_safe=True)
        if (best.amount_minor, best.currency) != (request.amount_minor, request.currency):
            raise GatewayRejected(
                GATEWAY,
                f"receipt {request.reference!r} already names order {best.id} for "
                f"{best.amount_minor} {best.currency}",
                gateway_code="DUPLICATE_RECEIPT",
                reason="receipt_reused_with_different_amount",
                field="receipt",
            )
        return best

    async def fetch_order(self, order_id: str) -> GatewayOrder:
        entity = await self._request("GET", f"/v1/orders/{_path_id(order_id, 'order id')}")
        return self._parse(mapping.order_from_entity, entity, replay_safe=True)

    async def list_order_payments(self, order_id: str) -> list[GatewayPayment]:
        found = await self._request("GET", f"/v1/orders/{_path_id(order_id, 'order id')}/payments")
        items = self._parse(mapping.collection_items, found, replay_safe=True)
        return [self._parse(mapping.payment_from_entity, i, replay_safe=True) for i in items]

    # --- payments -----------------------------------------------------------------------

    async def fetch_payment(self, payment_id: str) -> GatewayPayment:
        entity = await self._request(
            "GET",
            f"/v1/payments/{_path_id(payment_id, 'payment id')}",
            params={"expand[]": "card"},
        )
        return self._parse(mapping.payment_from_entity, entity, replay_safe=True)

    async def capture(
        self, order_id: str, payment_id: str | None, amount_minor: int, currency: str
    ) -> GatewayPayment:
        """Capture an authorized payment for its full amount (Razorpay allows nothing else).

        A capture repeated after an unknown outcome meets "already been captured"; that answer
        is confirmed by fetching the payment and returned as success when it matches.
        """
        if payment_id is None:
            raise ValueError("Razorpay captures a payment: payment_id is required")
        path = f"/v1/payments/{_path_id(payment_id, 'payment id')}/capture"
        try:
            entity = await self._request(
                "POST",
                path,
                json={"amount": amount_minor, "currency": currency},
                replay_safe=False,
            )
        except GatewayRejected as exc:
            if _ALREADY_CAPTURED not in exc.message:
                raise
            payment = await self.fetch_payment(payment_id)
            if not (
                payment.captured
                and payment.order_id == order_id
                and payment.amount_minor == amount_minor
                and payment.currency == currency
            ):
                raise
            return payment
        return self._parse(mapping.payment_from_entity, entity, replay_safe=False)

    # --- refunds ------------------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> GatewayRefund:
        """Refund with X-Refund-Idempotency. The body is a pure function of the request, so a
        retry is a replay Razorpay answers with the original refund; a timeout is therefore
        GatewayUnavailable (retry with the same request), not GatewayOutcomeUnknown."""
        if not _IDEMPOTENCY_KEY_RE.match(request.idempotency_key):
            raise ValueError(
                "idempotency_key must be at least 10 characters of letters, digits, _ or -"
            )
        if request.amount_minor is not None and request.amount_minor < MIN_AMOUNT_MINOR:
            raise ValueError(f"refund amount must be at least {MIN_AMOUNT_MINOR} minor units")
        body: dict[str, Any] = {}
        if request.amount_minor is not None:
            body["amount"] = request.amount_minor
        if request.notes:
            body["notes"] = dict(request.notes)
        entity = await self._request(
            "POST",
            f"/v1/payments/{_path_id(request.payment_id, 'payment id')}/refund",
            json=body,
            headers={"X-Refund-Idempotency": request.idempotency_key},
            replay_safe=True,
        )
        return self._parse(mapping.refund_from_entity, entity, replay_safe=True)

    async def fetch_refund(self, payment_id: str, refund_id: str) -> GatewayRefund:
        entity = await self._request(
            "GET",
            f"/v1/payments/{_path_id(payment_id, 'payment id')}"
            f"/refunds/{_path_id(refund_id, 'refund id')}",
        )
        return self._parse(mapping.refund_from_entity, entity, replay_safe=True)

    async def list_refunds(self, payment_id: str) -> list[GatewayRefund]:
        """GET /v1/payments/{id}/refunds, every page (Razorpay lists at most 100 at a time)."""
        path = f"/v1/payments/{_path_id(payment_id, 'payment id')}/refunds"
        refunds: list[GatewayRefund] = []
        while True:
            found = await self._request("GET", path, params={"count": _PAGE, "skip": len(refunds)})
            items = self._parse(mapping.collection_items, found, replay_safe=True)
            refunds += [self._parse(mapping.refund_from_entity, i, replay_safe=True) for i in items]
            if len(items) < _PAGE:
                return refunds

    # --- customers ----------------------------------------------------------------------

    async def create_customer(self, reference: str) -> str | None:
        """POST /v1/customers with `fail_existing: "0"` (Razorpay then returns the customer it
        has for the same email and contact instead of refusing). We hold no email or contact
        for our customers, so only a note names them: a repeat after a lost answer may make a
        second, empty customer at Razorpay, which holds no money and no token."""
        if not reference or len(reference) > MAX_NOTE_VALUE_LENGTH:
            raise ValueError(f"reference must be 1-{MAX_NOTE_VALUE_LENGTH} characters")
        entity = await self._request(
            "POST",
            "/v1/customers",
            json={"fail_existing": "0", "notes": {mapping.NOTE_CUSTOMER: reference}},
        )
        return self._parse(mapping.customer_id, entity, replay_safe=True)

    # --- signatures ---------------------------------------------------------------------

    def verify_checkout(self, proof: CheckoutProof) -> bool:
        """HMAC-SHA256(order_id|payment_id, key_secret). `proof.order_id` must be the order id we
        stored, not the one the browser echoed."""
        if not proof.payment_id or not proof.signature:
            return False
        expected = _hmac_hex(self._config.key_secret, f"{proof.order_id}|{proof.payment_id}")
        return hmac.compare_digest(expected.encode(), proof.signature.encode())

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        secret = self._config.webhook_secret
        if not secret:
            raise WebhookVerificationFailed(GATEWAY, "no Razorpay webhook secret is configured")
        lowered = {name.lower(): value for name, value in headers.items()}
        signature = lowered.get("x-razorpay-signature")
        if not signature:
            raise WebhookVerificationFailed(GATEWAY, "X-Razorpay-Signature header is missing")
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise WebhookVerificationFailed(GATEWAY, "X-Razorpay-Signature does not match")
        event_id = lowered.get("x-razorpay-event-id")
        if not event_id:
            raise ValueError("X-Razorpay-Event-Id header is missing")
        return mapping.event_from_envelope(event_id, mapping.parse_json(body))

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- transport ----------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        replay_safe: bool = True,
    ) -> dict[str, Any]:
        """One call; every failure leaves as the base error split. `replay_safe` says whether
        sending the same request again cannot act twice (GETs, idempotency-keyed POSTs)."""
        try:
            response = await self._client.request(
                method, path, params=params, json=json, headers=headers
            )
        except _NOT_SENT as exc:
            raise GatewayUnavailable(
                GATEWAY,
                f"{method} {path}: could not reach Razorpay ({type(exc).__name__})",
                local=isinstance(exc, httpx.PoolTimeout),
            ) from exc
        except httpx.TransportError as exc:
            what = f"{method} {path}: no answer from Razorpay ({type(exc).__name__})"
            if replay_safe:
                raise GatewayUnavailable(GATEWAY, what) from exc
            raise GatewayOutcomeUnknown(GATEWAY, what) from exc
        log.debug("razorpay %s %s -> %s", method, path, response.status_code)
        if not response.is_success:
            raise mapping.error_for_response(
                response.status_code,
                response.content,
                retry_after=response.headers.get("retry-after"),
            )
        return self._parse(mapping.parse_json, response.content, replay_safe=replay_safe)

    @staticmethod
    def _parse(parse: Callable[[_S], _T], raw: _S, *, replay_safe: bool) -> _T:
        """A 2xx answer we cannot read: for a POST the gateway may have acted."""
        try:
            return parse(raw)
        except ValueError as exc:
            what = f"unreadable Razorpay entity ({exc})"
            if replay_safe:
                raise GatewayUnavailable(GATEWAY, what) from exc
            raise GatewayOutcomeUnknown(GATEWAY, what) from exc


def _hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()

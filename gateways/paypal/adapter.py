"""PayPalGateway: base.PaymentGateway over PayPal's Orders v2 / Payments v2 REST API."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from gateways.base import (
    CheckoutProof,
    CreateOrderRequest,
    Gateway,
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
from gateways.paypal import mapping
from gateways.paypal.certificates import CertificateVerifier
from gateways.paypal.config import NEVER_SUPPORTED, PayPalConfig
from gateways.paypal.money import MoneyFormatError, to_paypal_value

PAYPAL = Gateway.PAYPAL
_T = TypeVar("_T")

# Orders v2 `id` path parameter: ^[A-Z0-9]+$, 1..36. Capture and refund ids share the shape.
_RESOURCE_ID_RE = re.compile(r"^[A-Z0-9]{1,36}$")
# PayPal-Request-Id: at most 108 characters.
_MAX_REQUEST_ID = 108
_WEBHOOK_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float  # on the adapter's clock


def request_id(prefix: str, key: str) -> str:
    """Deterministic PayPal-Request-Id; hashed when our key would exceed PayPal's limit."""
    candidate = f"{prefix}-{key}" if prefix else key
    if len(candidate) <= _MAX_REQUEST_ID:
        return candidate
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{prefix}-{digest}" if prefix else digest


class PayPalGateway:
    """PayPal as a PaymentGateway. See the gateways.paypal package docstring for the
    wire format, token handling, idempotency keys, webhook verification and retry policy."""

    name = Gateway.PAYPAL

    def __init__(
        self,
        config: PayPalConfig,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._base_url = config.base_url.rstrip("/")
        # Per-request timeouts, so they hold even on a client the caller passed in.
        self._timeout = httpx.Timeout(
            config.read_timeout, connect=config.connect_timeout, pool=config.read_timeout
        )
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
        )
        self._clock = clock
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        self._certificates = CertificateVerifier(
            self._client, self._timeout, allowed_hosts=config.cert_host_allowlist
        )

    @property
    def public_key(self) -> str:
        return self._config.client_id

    @property
    def checkout_script_url(self) -> None:
        return None  # the buyer approves on PayPal's page: a redirect or a popup

    # --- capability -----------------------------------------------------------------------

    def supports(self, method: MethodKind, currency: str, amount_minor: int) -> bool:
        # Buyers always pay on PayPal's own approval page. A CARD payment routed here (the
        # fallback for international cards) is paid there as a guest card checkout; no card
        # data touches this service either way.
        if method not in (MethodKind.PAYPAL, MethodKind.CARD) or not self._currency_ok(currency):
            return False
        if amount_minor <= 0:
            return False
        try:
            to_paypal_value(amount_minor, currency)
        except MoneyFormatError:
            return False
        return True

    def _currency_ok(self, currency: str) -> bool:
        return currency not in NEVER_SUPPORTED and currency in self._config.supported_currencies

    def _require_currency(self, currency: str) -> None:
        if not self._currency_ok(currency):
            raise UnsupportedMethod(PAYPAL, f"PayPal does not take {currency} for this merchant")

    # --- orders ---------------------------------------------------------------------------

    async def create_order(self, request: CreateOrderRequest) -> GatewayOrder:
        if not self.supports(request.method, request.currency, request.amount_minor):
            raise UnsupportedMethod(
                PAYPAL,
                f"PayPal cannot take {request.method} in {request.currency} "
                f"for {request.amount_minor} minor units",
            )
        reference = request.reference[:127]
        unit: dict[str, Any] = {
            "reference_id": reference,
            "custom_id": reference,
            "invoice_id": reference,
            "amount": {
                "currency_code": request.currency,
                "value": to_paypal_value(request.amount_minor, request.currency),
            },
        }
        body = {
            "intent": "CAPTURE",
            "purchase_units": [unit],
            "payment_source": {
                "paypal": {
                    "experience_context": {
                        "return_url": request.return_url or self._config.return_url,
                        "cancel_url": request.cancel_url or self._config.cancel_url,
                        "user_action": "PAY_NOW",
                        "shipping_preference": "NO_SHIPPING",
                    }
                }
            },
        }
        data = await self._post(
            "/v2/checkout/orders", body, request_id=request_id("create", request.reference)
        )
        return self._parse(mapping.to_order, data, post=True)

    async def fetch_order(self, order_id: str) -> GatewayOrder:
        data = await self._get(f"/v2/checkout/orders/{self._resource_id(order_id)}")
        return self._parse(mapping.to_order, data, post=False)

    async def list_order_payments(self, order_id: str) -> list[GatewayPayment]:
        data = await self._get(f"/v2/checkout/orders/{self._resource_id(order_id)}")
        return self._parse(lambda o: self._payments_of(o, order_id), data, post=False)

    @staticmethod
    def _payments_of(order: Mapping[str, Any], order_id: str) -> list[GatewayPayment]:
        return [
            mapping.to_payment(
                c,
                order_id=order_id,
                refunded_minor=mapping.order_refunded_minor(order, str(c.get("id"))),
            )
            for c in mapping.order_captures(order)
        ]

    async def capture(
        self, order_id: str, payment_id: str | None, amount_minor: int, currency: str
    ) -> GatewayPayment:
        """Capture an approved order. PayPal-Request-Id is `capture-<order id>`: the order id
        is 1:1 with our payment (created under `create-<reference>`) and an order is captured
        at most once, so a repeated call replays the first capture. `payment_id` is unused
        (PayPal has no payment before capture)."""
        self._require_currency(currency)
        order_id = self._resource_id(order_id)
        try:
            data = await self._post(
                f"/v2/checkout/orders/{order_id}/capture",
                {},
                request_id=request_id("capture", order_id),
            )
        except GatewayRejected as exc:
            if exc.gateway_code != "ORDER_ALREADY_CAPTURED":
                raise
            # Captured earlier under a request id PayPal no longer remembers (kept 6 h):
            # the capture we asked for exists, so report it instead of an error.
            data = await self._get(f"/v2/checkout/orders/{order_id}")
        payments = self._parse(lambda o: self._payments_of(o, order_id), data, post=True)
        if not payments:
            raise GatewayOutcomeUnknown(PAYPAL, f"capture of {order_id} answered without captures")
        return payments[0]

    async def fetch_payment(self, payment_id: str) -> GatewayPayment:
        capture = await self._get(f"/v2/payments/captures/{self._resource_id(payment_id)}")
        payment = self._parse(mapping.to_payment, capture, post=False)
        if capture.get("status") == "PARTIALLY_REFUNDED" and payment.order_id:
            # A capture does not carry its refunded total; its order lists the refunds.
            order = await self._get(f"/v2/checkout/orders/{self._resource_id(payment.order_id)}")
            refunded = self._parse(
                lambda o: mapping.order_refunded_minor(o, payment.id), order, post=False
            )
            payment = self._parse(
                lambda c: mapping.to_payment(c, refunded_minor=refunded), capture, post=False
            )
        return payment

    # --- refunds --------------------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> GatewayRefund:
        """Refund a capture: no amount = the whole remainder, else a partial refund. The
        PayPal-Request-Id is the caller's idempotency key, so one key never refunds twice."""
        self._require_currency(request.currency)
        capture_id = self._resource_id(request.payment_id)
        body: dict[str, Any] = {}
        if request.amount_minor is not None:
            if request.amount_minor <= 0:
                raise GatewayRejected(
                    PAYPAL,
                    "refund amount must be positive",
                    gateway_code="CANNOT_BE_ZERO_OR_NEGATIVE",
                    field="amount",
                )
            try:
                value = to_paypal_value(request.amount_minor, request.currency)
            except MoneyFormatError as exc:
                raise GatewayRejected(
                    PAYPAL, str(exc), gateway_code="DECIMAL_PRECISION", field="amount"
                ) from exc
            body["amount"] = {"currency_code": request.currency, "value": value}
        if len(request.idempotency_key) <= 127:
            body["custom_id"] = request.idempotency_key
        data = await self._post(
            f"/v2/payments/captures/{capture_id}/refund",
            body,
            request_id=request_id("", request.idempotency_key),
        )
        return self._parse(lambda r: mapping.to_refund(r, payment_id=capture_id), data, post=True)

    async def fetch_refund(self, payment_id: str, refund_id: str) -> GatewayRefund:
        capture_id = self._resource_id(payment_id)
        data = await self._get(f"/v2/payments/refunds/{self._resource_id(refund_id)}")
        return self._parse(lambda r: mapping.to_refund(r, payment_id=capture_id), data, post=False)

    # --- checkout proof and webhooks --------------------------------------------------------

    def verify_checkout(self, proof: CheckoutProof) -> bool:
        """PayPal's buyer approval carries no signature: the browser only hands back the
        order id. True means the id is well-formed; the service must then fetch (and capture)
        the order server-side, which is the real check."""
        return bool(_RESOURCE_ID_RE.fullmatch(proof.order_id))

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> GatewayEvent:
        lower = {k.lower(): v for k, v in headers.items()}
        missing = [h for h in _WEBHOOK_HEADERS if not lower.get(h)]
        if missing:
            raise WebhookVerificationFailed(
                PAYPAL, f"missing webhook headers: {', '.join(missing)}"
            )
        webhook_id = self._config.webhook_id
        if not webhook_id:
            raise WebhookVerificationFailed(PAYPAL, "no PayPal webhook id configured")
        try:
            envelope = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"webhook body is not JSON: {exc}") from exc
        if not isinstance(envelope, dict):
            raise ValueError("webhook body is not a JSON object")
        if self._config.self_verify_webhooks:
            await self._certificates.verify(lower, body, webhook_id)
        else:
            await self._postback_verify(lower, envelope, webhook_id)
        return mapping.to_event(envelope)

    async def _postback_verify(
        self, headers: Mapping[str, str], envelope: Mapping[str, Any], webhook_id: str
    ) -> None:
        result = await self._post(
            "/v1/notifications/verify-webhook-signature",
            {
                "auth_algo": headers["paypal-auth-algo"],
                "cert_url": headers["paypal-cert-url"],
                "transmission_id": headers["paypal-transmission-id"],
                "transmission_sig": headers["paypal-transmission-sig"],
                "transmission_time": headers["paypal-transmission-time"],
                "webhook_id": webhook_id,
                "webhook_event": envelope,
            },
            request_id=None,
            read_only=True,
        )
        if result.get("verification_status") != "SUCCESS":
            raise WebhookVerificationFailed(PAYPAL, "PayPal did not verify the webhook")

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- HTTP -----------------------------------------------------------------------------

    @staticmethod
    def _resource_id(value: str) -> str:
        if not _RESOURCE_ID_RE.fullmatch(value):
            # Refused locally: a malformed id can only be a 404 and must never reach a URL.
            raise GatewayRejected(
                PAYPAL,
                f"not a PayPal resource id: {value!r}",
                gateway_code="INVALID_RESOURCE_ID",
                http_status=404,
            )
        return value

    async def _get(self, path: str) -> dict[str, Any]:
        return await self._send("GET", path, body=None, request_id=None, read_only=True)

    async def _post(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        request_id: str | None,
        read_only: bool = False,
    ) -> dict[str, Any]:
        return await self._send("POST", path, body=body, request_id=request_id, read_only=read_only)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None,
        request_id: str | None,
        read_only: bool,
    ) -> dict[str, Any]:
        """One API call; on a 401 the token is refreshed once and the call repeated once."""
        for attempt in (1, 2):
            token = await self._access_token()
            headers = {"Authorization": f"Bearer {token}"}
            if body is not None:
                headers["Content-Type"] = "application/json"
                headers["Prefer"] = "return=representation"
            if request_id is not None:
                headers["PayPal-Request-Id"] = request_id
            response = await self._transport(
                method, path, headers=headers, body=body, read_only=read_only
            )
            if response.status_code == 401 and attempt == 1:
                self._invalidate(token)
                continue
            if response.is_success:
                try:
                    data = response.json()
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    raise self._unreadable(method, path, read_only)
                return data
            raise mapping.error_from_response(
                response.status_code, response.content, response.headers
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _transport(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        body: Mapping[str, Any] | None,
        read_only: bool,
        auth: tuple[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        url = self._base_url + path
        headers = {"Accept": "application/json", **headers}
        try:
            if form is not None:
                return await self._client.request(
                    method, url, headers=headers, data=form, auth=auth, timeout=self._timeout
                )
            return await self._client.request(
                method, url, headers=headers, json=body, timeout=self._timeout
            )
        except (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.PoolTimeout,
            httpx.UnsupportedProtocol,
        ) as exc:
            # Nothing was sent.
            raise GatewayUnavailable(
                PAYPAL, f"cannot reach PayPal: {exc!r}", local=isinstance(exc, httpx.PoolTimeout)
            ) from exc
        except httpx.TransportError as exc:
            # The request went out; no answer came back.
            if read_only or method == "GET":
                raise GatewayUnavailable(PAYPAL, f"no answer from PayPal: {exc!r}") from exc
            raise GatewayOutcomeUnknown(
                PAYPAL, f"{method} {path} sent, no answer ({exc!r}); fetch to resolve"
            ) from exc

    @staticmethod
    def _unreadable(method: str, path: str, read_only: bool) -> Exception:
        if read_only:
            return GatewayUnavailable(PAYPAL, f"unreadable answer to {method} {path}")
        return GatewayOutcomeUnknown(PAYPAL, f"unreadable answer to {method} {path}")

    def _parse(
        self, parse: Callable[[dict[str, Any]], _T], data: dict[str, Any], *, post: bool
    ) -> _T:
        try:
            return parse(data)
        except mapping.PayPalFormatError as exc:
            raise self._unreadable("POST" if post else "GET", str(exc), not post) from exc

    # --- OAuth ----------------------------------------------------------------------------

    async def _access_token(self) -> str:
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token.value
        async with self._token_lock:
            # Single flight: whoever waited on the lock finds the fresh token here.
            token = self._token
            if token is not None and self._clock() < token.refresh_at:
                return token.value
            token = await self._fetch_token()
            self._token = token
            return token.value

    def _invalidate(self, stale: str) -> None:
        # Only drop the token that failed; a concurrent caller may already have replaced it.
        if self._token is not None and self._token.value == stale:
            self._token = None

    async def _fetch_token(self) -> _Token:
        started = self._clock()
        response = await self._transport(
            "POST",
            "/v1/oauth2/token",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=None,
            read_only=True,  # asking for a token twice is harmless
            auth=(self._config.client_id, self._config.client_secret),
            form={"grant_type": "client_credentials"},
        )
        if not response.is_success:
            raise mapping.error_from_response(
                response.status_code, response.content, response.headers
            )
        try:
            data = response.json()
            value = data["access_token"]
            expires_in = float(data["expires_in"])
        except (ValueError, KeyError, TypeError) as exc:
            raise GatewayUnavailable(PAYPAL, "unreadable OAuth token answer") from exc
        if not isinstance(value, str) or not value or expires_in <= 0:
            raise GatewayUnavailable(PAYPAL, "unusable OAuth token answer")
        skew = min(self._config.token_refresh_skew, expires_in / 10)
        return _Token(value=value, refresh_at=started + expires_in - skew)

"""RazorpayGateway against the Razorpay sandbox over real HTTP (uvicorn on loopback)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import razorpay

from gateways.base import (
    CheckoutProof,
    CreateOrderRequest,
    Gateway,
    GatewayEventKind,
    GatewayOrderStatus,
    GatewayOutcomeUnknown,
    GatewayPaymentStatus,
    GatewayRefundStatus,
    GatewayRejected,
    GatewayUnavailable,
    MethodKind,
    RefundRequest,
    UnsupportedMethod,
    WebhookVerificationFailed,
)
from gateways.razorpay import RazorpayConfig, RazorpayGateway, mapping
from gateways.retry import with_retries

if TYPE_CHECKING:  # fixture types only
    from tests.gateways.conftest import RazorpayCredentials, SandboxControl, WebhookInbox

READ_TIMEOUT = 0.5
SLOW = 1.5  # an injected delay the adapter's read timeout gives up on

VISA = "4100 2800 0000 1007"
RUPAY = "6527 6589 0000 1005"


def reference() -> str:
    return f"pay_{uuid.uuid4().hex[:20]}"


def order_request(ref: str | None = None, amount: int = 50_000, **kw: Any) -> CreateOrderRequest:
    return CreateOrderRequest(
        reference=ref or reference(),
        amount_minor=amount,
        currency="INR",
        method=kw.pop("method", MethodKind.CARD),
        **kw,
    )


@pytest.fixture
async def gateway(
    razorpay_sandbox_url: str,
    razorpay_credentials: RazorpayCredentials,
    razorpay_control: SandboxControl,
) -> AsyncIterator[RazorpayGateway]:
    adapter = RazorpayGateway(
        RazorpayConfig(
            key_id=razorpay_credentials.key_id,
            key_secret=razorpay_credentials.key_secret,
            webhook_secret=razorpay_credentials.webhook_secret,
            base_url=razorpay_sandbox_url,
            read_timeout=READ_TIMEOUT,
        )
    )
    yield adapter
    await adapter.aclose()


@pytest.fixture
def sandbox(razorpay_http: httpx.AsyncClient) -> Sandbox:
    return Sandbox(razorpay_http)


class Sandbox:
    """Direct calls to the sandbox: the checkout stand-in and ground-truth reads."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def pay(self, order_id: str, **body: Any) -> httpx.Response:
        return await self.http.post(f"/checkout/{order_id}/pay", json=body)

    async def paid(self, order_id: str, card: str = VISA) -> str:
        answer = await self.pay(order_id, method="card", card_number=card)
        assert answer.status_code == 200, answer.text
        payment_id: str = answer.json()["razorpay_payment_id"]
        return payment_id

    async def orders_with_receipt(self, receipt: str) -> list[dict[str, Any]]:
        answer = await self.http.get("/v1/orders", params={"receipt": receipt})
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def refunds_of(self, payment_id: str) -> list[dict[str, Any]]:
        answer = await self.http.get(f"/v1/payments/{payment_id}/refunds")
        items: list[dict[str, Any]] = answer.json()["items"]
        return items


async def captured_payment(gateway: RazorpayGateway, sandbox: Sandbox) -> tuple[str, str]:
    order = await gateway.create_order(order_request())
    payment_id = await sandbox.paid(order.id)
    await gateway.capture(order.id, payment_id, 50_000, "INR")
    return order.id, payment_id


class TestCheckoutScript:
    async def test_the_real_api_gets_razorpays_own_checkout_js(self) -> None:
        adapter = RazorpayGateway(RazorpayConfig(key_id="rzp_live_x", key_secret="s"))
        try:
            assert adapter.checkout_script_url == "https://checkout.razorpay.com/v1/checkout.js"
        finally:
            await adapter.aclose()

    def test_the_sandbox_serves_its_stand_in_beside_its_api(
        self, gateway: RazorpayGateway, razorpay_sandbox_url: str
    ) -> None:
        assert gateway.checkout_script_url == f"{razorpay_sandbox_url}/v1/checkout.js"


class TestSupports:
    def test_inr_takes_every_razorpay_method(self, gateway: RazorpayGateway) -> None:
        for method in mapping.METHODS:
            assert gateway.supports(method, "INR", 100)

    def test_below_one_rupee_is_not_supported(self, gateway: RazorpayGateway) -> None:
        assert not gateway.supports(MethodKind.UPI, "INR", 99)

    def test_usd_is_cards_only(self, gateway: RazorpayGateway) -> None:
        assert gateway.supports(MethodKind.CARD, "USD", 1000)
        assert not gateway.supports(MethodKind.UPI, "USD", 1000)

    def test_other_currencies_are_not_supported(self, gateway: RazorpayGateway) -> None:
        assert not gateway.supports(MethodKind.CARD, "EUR", 1000)

    def test_paypal_is_not_a_razorpay_method(self, gateway: RazorpayGateway) -> None:
        assert not gateway.supports(MethodKind.PAYPAL, "INR", 1000)


class TestCreateOrder:
    async def test_creates_an_order_keyed_by_the_reference(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        request = order_request(customer_id="cust-1", notes={"cart": "c-9"})
        order = await gateway.create_order(request)
        assert order.gateway is Gateway.RAZORPAY
        assert order.reference == request.reference
        assert (order.amount_minor, order.currency) == (50_000, "INR")
        assert order.status is GatewayOrderStatus.CREATED
        [stored] = await sandbox.orders_with_receipt(request.reference)
        assert stored["notes"] == {
            "paygraph_reference": request.reference,
            "cart": "c-9",
            "paygraph_customer_id": "cust-1",
        }

    async def test_second_call_with_the_same_reference_returns_the_same_order(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        request = order_request()
        first = await gateway.create_order(request)
        second = await gateway.create_order(request)
        assert second.id == first.id
        assert len(await sandbox.orders_with_receipt(request.reference)) == 1

    async def test_unsupported_method_gets_unsupported_method_and_no_order(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        request = order_request(method=MethodKind.PAYPAL)
        with pytest.raises(UnsupportedMethod):
            await gateway.create_order(request)
        assert await sandbox.orders_with_receipt(request.reference) == []

    async def test_amount_below_minimum_gets_unsupported_method(
        self, gateway: RazorpayGateway
    ) -> None:
        with pytest.raises(UnsupportedMethod):
            await gateway.create_order(order_request(amount=99))

    async def test_reference_longer_than_a_receipt_gets_value_error(
        self, gateway: RazorpayGateway
    ) -> None:
        with pytest.raises(ValueError, match="reference"):
            await gateway.create_order(order_request(ref="x" * 41))

    async def test_too_many_notes_get_value_error(self, gateway: RazorpayGateway) -> None:
        notes = {f"k{i}": "v" for i in range(15)}  # plus our reference note: 16
        with pytest.raises(ValueError, match="notes"):
            await gateway.create_order(order_request(notes=notes))

    async def test_reference_reused_for_another_amount_is_rejected(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        ref = reference()
        await gateway.create_order(order_request(ref))
        with pytest.raises(GatewayRejected) as caught:
            await gateway.create_order(order_request(ref, amount=60_000))
        assert caught.value.gateway_code == "DUPLICATE_RECEIPT"
        assert caught.value.field == "receipt"
        assert len(await sandbox.orders_with_receipt(ref)) == 1


class TestCreateOrderAfterAmbiguousFailure:
    async def test_read_timeout_on_create_resolves_to_the_order_that_was_made(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="POST", delay=SLOW, phase="after")
        request = order_request()
        order = await gateway.create_order(request)
        [stored] = await sandbox.orders_with_receipt(request.reference)
        assert order.id == stored["id"]

    async def test_unresolved_timeout_is_outcome_unknown_and_the_retry_finds_the_order(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="POST", delay=SLOW, phase="after")
        # the lookup before the create passes; the lookup right after the timeout fails
        await razorpay_control.fault("/v1/orders", method="GET", status=503, skip=1)
        request = order_request()
        with pytest.raises(GatewayOutcomeUnknown):
            await gateway.create_order(request)
        order = await gateway.create_order(request)
        [stored] = await sandbox.orders_with_receipt(request.reference)
        assert order.id == stored["id"]

    async def test_timeout_before_the_gateway_acted_creates_one_order_on_retry(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        # The request is still queued at the gateway when the adapter gives up; it lands later.
        await razorpay_control.fault("/v1/orders", method="POST", delay=SLOW, phase="before")
        request = order_request()
        with pytest.raises(GatewayOutcomeUnknown):
            await gateway.create_order(request)
        await _wait_for_orders(sandbox, request.reference, 1)
        order = await gateway.create_order(request)
        [stored] = await sandbox.orders_with_receipt(request.reference)
        assert order.id == stored["id"]

    async def test_5xx_after_the_order_was_made_is_retried_into_the_same_order(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="POST", status=500, phase="after")
        request = order_request()

        async def no_wait(_: float) -> None:
            return None

        order = await with_retries(
            lambda: gateway.create_order(request), max_attempts=3, sleep=no_wait
        )
        [stored] = await sandbox.orders_with_receipt(request.reference)
        assert order.id == stored["id"]


class TestCreateOrderForANewReference:
    """`new_reference`: the caller made the reference just now, so the adapter creates without
    looking first, and still looks after any answer that leaves the outcome open."""

    async def test_creates_without_looking_first(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        # A lookup would fail; the create does not need one.
        await razorpay_control.fault("/v1/orders", method="GET", status=503)
        request = order_request(new_reference=True)
        order = await gateway.create_order(request)
        await razorpay_control.post(action="clear_faults")  # the lookup's fault is unused
        [stored] = await sandbox.orders_with_receipt(request.reference)
        assert order.id == stored["id"]

    async def test_5xx_after_the_order_was_made_finds_that_order(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="POST", status=500, phase="after")
        request = order_request(new_reference=True)

        async def no_wait(_: float) -> None:
            return None

        order = await with_retries(
            lambda: gateway.create_order(request), max_attempts=3, sleep=no_wait
        )
        [stored] = await sandbox.orders_with_receipt(request.reference)
        assert order.id == stored["id"]

    async def test_5xx_whose_lookup_fails_is_outcome_unknown(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders", method="POST", status=500, phase="after")
        await razorpay_control.fault("/v1/orders", method="GET", status=503)
        request = order_request(new_reference=True)
        with pytest.raises(GatewayOutcomeUnknown):  # never retried blindly into a second order
            await gateway.create_order(request)
        assert len(await sandbox.orders_with_receipt(request.reference)) == 1


async def _wait_for_orders(sandbox: Sandbox, receipt: str, count: int) -> None:
    for _ in range(100):
        if len(await sandbox.orders_with_receipt(receipt)) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the delayed order never landed")


class TestFetch:
    async def test_order_moves_from_created_to_attempted_to_paid(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        order = await gateway.create_order(order_request())
        failed = await sandbox.pay(order.id, method="upi", vpa="failure@razorpay")
        assert failed.status_code == 400
        assert (await gateway.fetch_order(order.id)).status is GatewayOrderStatus.ATTEMPTED
        payment_id = await sandbox.paid(order.id)
        await gateway.capture(order.id, payment_id, 50_000, "INR")
        paid = await gateway.fetch_order(order.id)
        assert (paid.status, paid.amount_paid_minor, paid.attempts) == (
            GatewayOrderStatus.PAID,
            50_000,
            2,
        )

    async def test_lists_every_payment_of_an_order(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        order = await gateway.create_order(order_request())
        await sandbox.pay(order.id, method="upi", vpa="failure@razorpay")
        payment_id = await sandbox.paid(order.id)
        payments = await gateway.list_order_payments(order.id)
        by_status = {p.status: p for p in payments}
        assert set(by_status) == {GatewayPaymentStatus.FAILED, GatewayPaymentStatus.AUTHORIZED}
        assert by_status[GatewayPaymentStatus.AUTHORIZED].id == payment_id
        assert by_status[GatewayPaymentStatus.FAILED].error_reason == "payment_failed"

    async def test_card_payment_carries_last4_and_network_only(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        order = await gateway.create_order(order_request())
        customer_id = await gateway.create_customer("shopper-rupay")
        answer = await sandbox.pay(
            order.id, method="card", card_number=RUPAY, save=True, customer_id=customer_id
        )
        payment = await gateway.fetch_payment(answer.json()["razorpay_payment_id"])
        assert payment.status is GatewayPaymentStatus.AUTHORIZED
        assert (payment.card_last4, payment.card_network, payment.method) == (
            "1005",
            "RuPay",
            "card",
        )
        assert payment.token_id is not None and payment.token_id.startswith("token_")
        assert payment.order_id == order.id

    async def test_unknown_payment_id_is_rejected(self, gateway: RazorpayGateway) -> None:
        with pytest.raises(GatewayRejected) as caught:
            await gateway.fetch_payment("pay_AAAAAAAAAAAAAA")
        assert caught.value.message == "The id provided does not exist"
        assert caught.value.http_status == 400

    async def test_id_that_would_change_the_path_gets_value_error(
        self, gateway: RazorpayGateway
    ) -> None:
        with pytest.raises(ValueError, match="not a Razorpay id"):
            await gateway.fetch_order("../v1/refunds")


class TestErrorMapping:
    async def test_400_is_rejected_with_code_reason_and_field(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        order = await gateway.create_order(order_request())
        payment_id = await sandbox.paid(order.id)
        with pytest.raises(GatewayRejected) as caught:
            await gateway.capture(order.id, payment_id, 40_000, "INR")
        error = caught.value
        assert (error.gateway_code, error.http_status) == ("BAD_REQUEST_ERROR", 400)
        assert (error.reason, error.field) == ("input_validation_failed", "amount")
        assert error.message == "Capture amount must be equal to the amount authorized"
        assert not error.retryable

    async def test_401_bad_secret_is_rejected_not_retried(
        self, razorpay_sandbox_url: str, razorpay_credentials: RazorpayCredentials
    ) -> None:
        wrong = RazorpayGateway(
            RazorpayConfig(
                key_id=razorpay_credentials.key_id,
                key_secret="wrong-secret",
                base_url=razorpay_sandbox_url,
            )
        )
        try:
            with pytest.raises(GatewayRejected) as caught:
                await wrong.fetch_order("order_AAAAAAAAAAAAAA")
        finally:
            await wrong.aclose()
        assert (caught.value.http_status, caught.value.gateway_code) == (401, "BAD_REQUEST_ERROR")
        assert caught.value.message == "The api secret provided is invalid"

    async def test_429_is_unavailable_with_retry_after(
        self, gateway: RazorpayGateway, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/orders/*", status=429, retry_after=2)
        with pytest.raises(GatewayUnavailable) as caught:
            await gateway.fetch_order("order_AAAAAAAAAAAAAA")
        assert caught.value.retry_after == 2.0
        assert caught.value.message == "Request failed. Please try after sometime."

    async def test_500_is_unavailable(
        self, gateway: RazorpayGateway, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/payments/*", status=500)
        with pytest.raises(GatewayUnavailable):
            await gateway.fetch_payment("pay_AAAAAAAAAAAAAA")

    async def test_non_json_503_is_unavailable(
        self, gateway: RazorpayGateway, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/payments/*", status=503, body="html")
        with pytest.raises(GatewayUnavailable, match="HTTP 503"):
            await gateway.fetch_payment("pay_AAAAAAAAAAAAAA")

    async def test_read_timeout_on_a_get_is_unavailable(
        self, gateway: RazorpayGateway, razorpay_control: SandboxControl
    ) -> None:
        await razorpay_control.fault("/v1/payments/*", delay=SLOW)
        with pytest.raises(GatewayUnavailable, match="ReadTimeout"):
            await gateway.fetch_payment("pay_AAAAAAAAAAAAAA")

    async def test_read_timeout_on_capture_is_outcome_unknown(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        order = await gateway.create_order(order_request())
        payment_id = await sandbox.paid(order.id)
        await razorpay_control.fault("/v1/payments/*/capture", delay=SLOW, phase="after")
        with pytest.raises(GatewayOutcomeUnknown):
            await gateway.capture(order.id, payment_id, 50_000, "INR")
        # resolving by fetching shows the capture happened
        assert (await gateway.fetch_payment(payment_id)).captured

    async def test_connection_refused_is_unavailable(
        self, razorpay_credentials: RazorpayCredentials
    ) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # bound but never listening: connect is refused
            dead = RazorpayGateway(
                RazorpayConfig(
                    key_id=razorpay_credentials.key_id,
                    key_secret=razorpay_credentials.key_secret,
                    base_url=f"http://127.0.0.1:{port}",
                )
            )
            try:
                with pytest.raises(GatewayUnavailable, match="ConnectError"):
                    await dead.create_order(order_request())
            finally:
                await dead.aclose()


class TestCapture:
    async def test_captures_an_authorized_payment(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        order = await gateway.create_order(order_request())
        payment_id = await sandbox.paid(order.id)
        payment = await gateway.capture(order.id, payment_id, 50_000, "INR")
        assert payment.status is GatewayPaymentStatus.CAPTURED
        assert payment.captured

    async def test_repeated_capture_returns_the_captured_payment(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        order = await gateway.create_order(order_request())
        payment_id = await sandbox.paid(order.id)
        await gateway.capture(order.id, payment_id, 50_000, "INR")
        again = await gateway.capture(order.id, payment_id, 50_000, "INR")
        assert again.status is GatewayPaymentStatus.CAPTURED

    async def test_capture_of_a_failed_payment_is_rejected(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        order = await gateway.create_order(order_request())
        failed = await sandbox.pay(order.id, method="card", card_number="4100280000060003")
        payment_id = failed.json()["error"]["metadata"]["payment_id"]
        with pytest.raises(GatewayRejected, match="Only payments which have been authorized"):
            await gateway.capture(order.id, payment_id, 50_000, "INR")

    async def test_missing_payment_id_gets_value_error(self, gateway: RazorpayGateway) -> None:
        with pytest.raises(ValueError, match="payment_id is required"):
            await gateway.capture("order_AAAAAAAAAAAAAA", None, 50_000, "INR")


class TestRefund:
    async def test_full_refund_is_processed_and_refunds_the_payment(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)
        refund = await gateway.refund(
            RefundRequest(payment_id, None, "INR", idempotency_key="refund-key-0001")
        )
        assert (refund.status, refund.amount_minor) == (GatewayRefundStatus.PROCESSED, 50_000)
        payment = await gateway.fetch_payment(payment_id)
        assert (payment.status, payment.amount_refunded_minor) == (
            GatewayPaymentStatus.REFUNDED,
            50_000,
        )

    async def test_same_key_twice_makes_one_refund(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)
        request = RefundRequest(payment_id, 10_000, "INR", idempotency_key="refund-key-0002")
        first = await gateway.refund(request)
        second = await gateway.refund(request)
        assert second.id == first.id
        assert len(await sandbox.refunds_of(payment_id)) == 1
        assert (await gateway.fetch_payment(payment_id)).amount_refunded_minor == 10_000

    async def test_same_key_with_a_different_body_is_rejected_as_a_conflict(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)
        await gateway.refund(RefundRequest(payment_id, 10_000, "INR", "refund-key-0003"))
        with pytest.raises(GatewayRejected) as caught:
            await gateway.refund(RefundRequest(payment_id, 20_000, "INR", "refund-key-0003"))
        assert caught.value.http_status == 409
        assert caught.value.reason == "idempotency_conflict"
        assert caught.value.message == (
            "Different request with the same idempotency key has already been processed."
        )
        assert len(await sandbox.refunds_of(payment_id)) == 1

    async def test_timeout_after_the_refund_was_made_is_retried_into_the_same_refund(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)
        await razorpay_control.fault("/v1/payments/*/refund", delay=SLOW, phase="after")
        request = RefundRequest(payment_id, 10_000, "INR", "refund-key-0004")
        with pytest.raises(GatewayUnavailable):  # keyed, so safe to send again
            await gateway.refund(request)
        refund = await gateway.refund(request)
        [stored] = await sandbox.refunds_of(payment_id)
        assert refund.id == stored["id"]

    async def test_pending_refund_is_fetched_as_processed_once_settled(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)
        await razorpay_control.post(action="configure", refund_mode="pending")
        refund = await gateway.refund(RefundRequest(payment_id, 10_000, "INR", "refund-key-0005"))
        assert refund.status is GatewayRefundStatus.PENDING
        await razorpay_control.post(action="settle_refund", refund_id=refund.id)
        settled = await gateway.fetch_refund(payment_id, refund.id)
        assert settled.status is GatewayRefundStatus.PROCESSED

    async def test_refund_of_an_uncaptured_payment_is_rejected(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        order = await gateway.create_order(order_request())
        payment_id = await sandbox.paid(order.id)
        with pytest.raises(GatewayRejected, match="should be captured"):
            await gateway.refund(RefundRequest(payment_id, None, "INR", "refund-key-0006"))

    async def test_refund_beyond_the_captured_amount_is_rejected(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)
        with pytest.raises(GatewayRejected) as caught:
            await gateway.refund(RefundRequest(payment_id, 60_000, "INR", "refund-key-0007"))
        assert caught.value.field == "amount"

    async def test_short_idempotency_key_gets_value_error(self, gateway: RazorpayGateway) -> None:
        with pytest.raises(ValueError, match="idempotency_key"):
            await gateway.refund(RefundRequest("pay_AAAAAAAAAAAAAA", None, "INR", "short"))


class TestVerifyCheckout:
    @pytest.fixture
    async def docs_gateway(self) -> AsyncIterator[RazorpayGateway]:
        adapter = RazorpayGateway(RazorpayConfig("rzp_test_docs", "EnLs21M47BllR3X8PSFtjtbd"))
        yield adapter
        await adapter.aclose()

    def test_docs_sample_signature_verifies(self, docs_gateway: RazorpayGateway) -> None:
        proof = CheckoutProof(
            "order_IEIaMR65cu6nz3",
            "pay_IH4NVgf4Dreq1l",
            "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f",
        )
        assert docs_gateway.verify_checkout(proof)

    async def test_sdk_test_vector_verifies(self) -> None:
        adapter = RazorpayGateway(RazorpayConfig("rzp_test_sdk", "key_secret"))
        proof = CheckoutProof(
            "fake_order_id",
            "fake_payment_id",
            "b2335e3b0801106b84a7faff035df56ecffde06918c9ddd1f0fafbb37a51cc89",
        )
        assert adapter.verify_checkout(proof)
        await adapter.aclose()

    def test_signature_for_another_order_fails(self, docs_gateway: RazorpayGateway) -> None:
        proof = CheckoutProof(
            "order_SomeOtherOrder1",
            "pay_IH4NVgf4Dreq1l",
            "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f",
        )
        assert not docs_gateway.verify_checkout(proof)

    def test_tampered_signature_fails(self, docs_gateway: RazorpayGateway) -> None:
        proof = CheckoutProof("order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1l", "0" * 64)
        assert not docs_gateway.verify_checkout(proof)

    def test_missing_signature_fails(self, docs_gateway: RazorpayGateway) -> None:
        assert not docs_gateway.verify_checkout(
            CheckoutProof("order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1l", None)
        )

    def test_non_ascii_signature_fails_without_raising(self, docs_gateway: RazorpayGateway) -> None:
        proof = CheckoutProof("order_IEIaMR65cu6nz3", "pay_IH4NVgf4Dreq1l", "é" * 64)
        assert not docs_gateway.verify_checkout(proof)

    async def test_sandbox_checkout_signature_verifies(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        order = await gateway.create_order(order_request())
        answer = (await sandbox.pay(order.id, method="upi", vpa="success@razorpay")).json()
        proof = CheckoutProof(order.id, answer["razorpay_payment_id"], answer["razorpay_signature"])
        assert gateway.verify_checkout(proof)


def signed(secret: str, body: bytes, event_id: str = "Evt0000000000001") -> dict[str, str]:
    return {
        "X-Razorpay-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "X-Razorpay-Event-Id": event_id,
    }


class TestVerifyWebhook:
    async def test_sandbox_webhooks_verify_and_normalise(
        self,
        gateway: RazorpayGateway,
        sandbox: Sandbox,
        razorpay_webhooks: WebhookInbox,
        razorpay_control: SandboxControl,
    ) -> None:
        await razorpay_control.post(action="configure", auto_capture=True)
        request = order_request()
        order = await gateway.create_order(request)
        payment_id = await sandbox.paid(order.id)
        received = await razorpay_webhooks.wait_for(3)
        events = [await gateway.verify_webhook(hook.headers, hook.body) for hook in received]
        assert [e.kind for e in events] == [
            GatewayEventKind.PAYMENT_AUTHORIZED,
            GatewayEventKind.PAYMENT_CAPTURED,
            GatewayEventKind.ORDER_PAID,
        ]
        for event in events:
            assert (event.order_id, event.payment_id) == (order.id, payment_id)
            assert (event.amount_minor, event.currency) == (50_000, "INR")
        assert events[2].reference == request.reference
        assert len({e.event_id for e in events}) == 3

    async def test_refund_webhook_carries_refund_and_payment_ids(
        self,
        gateway: RazorpayGateway,
        sandbox: Sandbox,
        razorpay_webhooks: WebhookInbox,
    ) -> None:
        order_id, payment_id = await captured_payment(gateway, sandbox)
        notes = {"refund_id": "6b0e37ec0bdde2c4a0c8fecf"}  # what our refunds carry
        refund = await gateway.refund(
            RefundRequest(payment_id, 10_000, "INR", "refund-key-0008", notes=notes)
        )
        assert refund.reference == "6b0e37ec0bdde2c4a0c8fecf"
        received = await razorpay_webhooks.wait_for(5)
        # Deliveries run concurrently: pick refund.processed by name, not by arrival order.
        [hook] = [h for h in received if b'"refund.processed"' in h.body]
        processed = await gateway.verify_webhook(hook.headers, hook.body)
        assert processed.kind is GatewayEventKind.REFUND_PROCESSED
        assert (processed.refund_id, processed.payment_id, processed.order_id) == (
            refund.id,
            payment_id,
            order_id,
        )
        assert processed.amount_minor == 10_000
        assert processed.refund_reference == "6b0e37ec0bdde2c4a0c8fecf"
        # A refund made without our note (its dashboard's) names none of ours.
        unnamed = await gateway.refund(RefundRequest(payment_id, 5_000, "INR", "refund-key-0009"))
        assert unnamed.reference is None

    async def test_failed_payment_webhook_carries_the_error(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_webhooks: WebhookInbox
    ) -> None:
        order = await gateway.create_order(order_request())
        await sandbox.pay(order.id, method="card", card_number="4100280000080001")
        [hook] = await razorpay_webhooks.wait_for(1)
        event = await gateway.verify_webhook(hook.headers, hook.body)
        assert event.kind is GatewayEventKind.PAYMENT_FAILED
        assert (event.error_code, event.error_reason) == ("BAD_REQUEST_ERROR", "insufficient_funds")

    async def test_bad_signature_fails_verification(
        self, gateway: RazorpayGateway, razorpay_credentials: RazorpayCredentials
    ) -> None:
        body = b'{"entity":"event","event":"payment.captured","payload":{}}'
        headers = signed("some-other-secret", body)
        with pytest.raises(WebhookVerificationFailed, match="does not match"):
            await gateway.verify_webhook(headers, body)

    async def test_missing_signature_fails_verification(self, gateway: RazorpayGateway) -> None:
        with pytest.raises(WebhookVerificationFailed, match="missing"):
            await gateway.verify_webhook({"X-Razorpay-Event-Id": "Evt0000000000001"}, b"{}")

    async def test_reserialised_body_fails_verification(
        self, gateway: RazorpayGateway, razorpay_credentials: RazorpayCredentials
    ) -> None:
        body = b'{"entity":"event","event":"payment.captured","payload":{}}'
        headers = signed(razorpay_credentials.webhook_secret, body)
        with pytest.raises(WebhookVerificationFailed):
            await gateway.verify_webhook(headers, json.dumps(json.loads(body)).encode())

    async def test_signature_agrees_with_the_sdk_utility(
        self, gateway: RazorpayGateway, razorpay_credentials: RazorpayCredentials
    ) -> None:
        body = b'{"entity":"event","event":"refund.speed_changed","payload":{},"created_at":1}'
        headers = signed(razorpay_credentials.webhook_secret, body)
        sdk = razorpay.Client(auth=("x", "y"))
        assert sdk.utility.verify_webhook_signature(
            body.decode(), headers["X-Razorpay-Signature"], razorpay_credentials.webhook_secret
        )
        event = await gateway.verify_webhook(headers, body)
        assert (event.kind, event.raw_type) == (GatewayEventKind.UNKNOWN, "refund.speed_changed")

    async def test_lowercase_header_names_are_accepted(
        self, gateway: RazorpayGateway, razorpay_credentials: RazorpayCredentials
    ) -> None:
        body = b'{"entity":"event","event":"payment.captured","payload":{}}'
        mixed = signed(razorpay_credentials.webhook_secret, body)
        headers = {name.lower(): value for name, value in mixed.items()}
        event = await gateway.verify_webhook(headers, body)
        assert event.event_id == "Evt0000000000001"

    async def test_signed_non_json_body_gets_value_error(
        self, gateway: RazorpayGateway, razorpay_credentials: RazorpayCredentials
    ) -> None:
        body = b"not json"
        with pytest.raises(ValueError, match="not JSON"):
            await gateway.verify_webhook(signed(razorpay_credentials.webhook_secret, body), body)

    async def test_signed_body_that_is_not_an_event_gets_value_error(
        self, gateway: RazorpayGateway, razorpay_credentials: RazorpayCredentials
    ) -> None:
        body = b'{"entity":"order"}'
        with pytest.raises(ValueError, match="envelope"):
            await gateway.verify_webhook(signed(razorpay_credentials.webhook_secret, body), body)

    async def test_missing_event_id_gets_value_error(
        self, gateway: RazorpayGateway, razorpay_credentials: RazorpayCredentials
    ) -> None:
        body = b'{"entity":"event","event":"payment.captured","payload":{}}'
        headers = signed(razorpay_credentials.webhook_secret, body)
        del headers["X-Razorpay-Event-Id"]
        with pytest.raises(ValueError, match="Event-Id"):
            await gateway.verify_webhook(headers, body)

    async def test_without_a_webhook_secret_nothing_verifies(self) -> None:
        adapter = RazorpayGateway(RazorpayConfig("rzp_test_x", "key-secret"))
        body = b"{}"
        try:
            with pytest.raises(WebhookVerificationFailed, match="no Razorpay webhook secret"):
                await adapter.verify_webhook(signed("", body), body)
        finally:
            await adapter.aclose()


class TestWireMapping:
    def test_every_documented_status_is_classified(self) -> None:
        assert set(mapping.ORDER_STATUSES) == {"created", "attempted", "paid"}
        assert set(mapping.PAYMENT_STATUSES) == {
            "created",
            "authorized",
            "captured",
            "refunded",
            "failed",
        }
        assert set(mapping.REFUND_STATUSES) == {"pending", "processed", "failed"}

    def test_every_event_we_act_on_has_a_kind(self) -> None:
        kinds = set(mapping.EVENT_KINDS.values())
        assert GatewayEventKind.UNKNOWN not in kinds
        assert len(kinds) == len(mapping.EVENT_KINDS)

    def test_an_unclassified_status_gets_value_error(self) -> None:
        entity = {"id": "pay_x", "amount": 100, "currency": "INR", "status": "settled"}
        with pytest.raises(ValueError, match="unclassified Razorpay payment status"):
            mapping.payment_from_entity(entity)

    def test_na_reason_becomes_none(self) -> None:
        error = mapping.error_for_response(
            400, b'{"error":{"code":"BAD_REQUEST_ERROR","description":"x","reason":"NA"}}'
        )
        assert isinstance(error, GatewayRejected)
        assert error.reason is None

    def test_409_still_in_progress_is_unavailable(self) -> None:
        body = (
            b'{"error":{"code":"BAD_REQUEST_ERROR","description":"Another request with the '
            b'same idempotency key is still in progress.","reason":"NA"}}'
        )
        assert isinstance(mapping.error_for_response(409, body), GatewayUnavailable)

    def test_4xx_without_an_envelope_is_rejected_with_the_http_status_as_code(self) -> None:
        error = mapping.error_for_response(403, b"<html>Forbidden</html>")
        assert isinstance(error, GatewayRejected)
        assert (error.gateway_code, error.http_status) == ("HTTP_403", 403)

    def test_empty_notes_list_is_accepted(self) -> None:
        envelope = {
            "entity": "event",
            "event": "order.paid",
            "payload": {"order": {"entity": {"id": "order_x", "notes": [], "amount_paid": 100}}},
        }
        event = mapping.event_from_envelope("Evt1", envelope)
        assert (event.order_id, event.reference, event.amount_minor) == ("order_x", None, 100)

    def test_retry_after_as_http_date(self) -> None:
        seconds = mapping.retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480)
        assert seconds == 10.0


class TestVoidedAuthorization:
    """Razorpay refunds an authorization nobody captured: `refunded` with `captured: false` is
    VOIDED (no money was taken), never a capture refunded."""

    async def test_an_auto_refunded_authorization_is_voided(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        order = await gateway.create_order(order_request())
        payment_id = await sandbox.paid(order.id)
        await razorpay_control.post(action="void_authorization", payment_id=payment_id)
        voided = await gateway.fetch_payment(payment_id)
        assert (voided.status, voided.captured) == (GatewayPaymentStatus.VOIDED, False)
        [listed] = await gateway.list_order_payments(order.id)
        assert listed.status is GatewayPaymentStatus.VOIDED

    async def test_a_captured_payment_refunded_in_full_is_refunded(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)
        await gateway.refund(RefundRequest(payment_id, None, "INR", "refund-key-void-01"))
        refunded = await gateway.fetch_payment(payment_id)
        assert (refunded.status, refunded.captured) == (GatewayPaymentStatus.REFUNDED, True)

    async def test_the_auto_refund_s_webhooks_say_voided_not_refunded(
        self,
        gateway: RazorpayGateway,
        sandbox: Sandbox,
        razorpay_control: SandboxControl,
        razorpay_webhooks: WebhookInbox,
    ) -> None:
        order = await gateway.create_order(order_request())
        payment_id = await sandbox.paid(order.id)
        refund = (await razorpay_control.post(action="void_authorization", payment_id=payment_id))[
            "result"
        ]
        received = await razorpay_webhooks.wait_for(3)
        refund_hooks = [h for h in received if b'"refund.' in h.body]
        events = [await gateway.verify_webhook(h.headers, h.body) for h in refund_hooks]
        assert [e.kind for e in events] == [GatewayEventKind.PAYMENT_VOIDED] * 2
        for event in events:
            assert (event.payment_id, event.order_id, event.refund_id) == (
                payment_id,
                order.id,
                refund["id"],
            )
            assert (event.amount_minor, event.currency) == (50_000, "INR")

    def test_a_failed_auto_refund_is_nothing_to_act_on(self) -> None:
        payment = {"id": "pay_x", "amount": 100, "currency": "INR", "captured": False}
        refund = {"id": "rfnd_x", "payment_id": "pay_x", "amount": 100, "currency": "INR"}
        kind = mapping.event_kind("refund.failed", payment, refund)
        assert kind is GatewayEventKind.UNKNOWN


class TestListRefunds:
    async def test_lists_ours_and_the_dashboard_s(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)
        ours = await gateway.refund(RefundRequest(payment_id, 10_000, "INR", "refund-key-list-1"))
        theirs = (
            await razorpay_control.post(
                action="dashboard_refund", payment_id=payment_id, amount=5_000
            )
        )["result"]
        listed = await gateway.list_refunds(payment_id)
        assert {(r.id, r.amount_minor, r.status) for r in listed} == {
            (ours.id, 10_000, GatewayRefundStatus.PROCESSED),
            (theirs["id"], 5_000, GatewayRefundStatus.PROCESSED),
        }
        assert all(r.payment_id == payment_id and not r.reversal for r in listed)

    async def test_reads_every_page(
        self, gateway: RazorpayGateway, sandbox: Sandbox, razorpay_control: SandboxControl
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)  # 500.00: 101 refunds of 1.00
        for _ in range(101):
            await razorpay_control.post(
                action="dashboard_refund", payment_id=payment_id, amount=100
            )
        assert len(await gateway.list_refunds(payment_id)) == 101

    async def test_a_payment_without_refunds_lists_none(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        _, payment_id = await captured_payment(gateway, sandbox)
        assert await gateway.list_refunds(payment_id) == []


class TestCustomers:
    async def test_creates_a_customer_named_by_our_reference(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        customer_id = await gateway.create_customer("shopper-1")
        assert customer_id is not None and customer_id.startswith("cust_")
        answer = await sandbox.http.get(f"/v1/customers/{customer_id}")
        assert answer.json()["notes"] == {mapping.NOTE_CUSTOMER: "shopper-1"}

    async def test_a_saved_card_s_token_belongs_to_the_customer(
        self, gateway: RazorpayGateway, sandbox: Sandbox
    ) -> None:
        customer_id = await gateway.create_customer("shopper-2")
        order = await gateway.create_order(order_request())
        answer = await sandbox.pay(
            order.id, method="card", card_number=VISA, save=True, customer_id=customer_id
        )
        payment = await gateway.fetch_payment(answer.json()["razorpay_payment_id"])
        assert payment.token_id is not None and payment.token_id.startswith("token_")

"""PayPalGateway against the PayPal sandbox over real HTTP (no HTTP mocks)."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from gateways.base import (
    CheckoutProof,
    CreateOrderRequest,
    GatewayEventKind,
    GatewayOrderStatus,
    GatewayOutcomeUnknown,
    GatewayPaymentStatus,
    GatewayRefundStatus,
    GatewayRejected,
    GatewayUnavailable,
    MethodKind,
    PaymentGateway,
    RefundRequest,
    UnsupportedMethod,
    WebhookVerificationFailed,
)
from gateways.paypal import PayPalGateway
from gateways.paypal import mapping as paypal_mapping
from tests.gateways.paypal_fixtures import (
    SandboxHandle,
    WebhookReceiver,
    paypal_config,
    paypal_gateway,
    paypal_sandbox,
    paypal_sandbox_url,
    paypal_webhook_receiver,
    wait_for,
)

__all__ = ["paypal_gateway", "paypal_sandbox", "paypal_sandbox_url", "paypal_webhook_receiver"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def order_request(
    reference: str = "pay_1", amount: int = 1000, currency: str = "USD", attempt: int = 1
) -> Any:
    return CreateOrderRequest(
        reference=reference,
        amount_minor=amount,
        currency=currency,
        method=MethodKind.PAYPAL,
        attempt=attempt,
    )


async def approved(gateway: PayPalGateway, sandbox: SandboxHandle, reference: str = "pay_1") -> str:
    order = await gateway.create_order(order_request(reference))
    assert (await sandbox.buyer(order.id)).status_code == 200
    return order.id


async def captured(
    gateway: PayPalGateway, sandbox: SandboxHandle, reference: str = "pay_1", amount: int = 1000
) -> str:
    order = await gateway.create_order(order_request(reference, amount))
    await sandbox.buyer(order.id)
    payment = await gateway.capture(order.id, None, amount, "USD")
    return payment.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class TestProtocol:
    def test_is_a_payment_gateway(self, paypal_gateway: PayPalGateway) -> None:
        assert isinstance(paypal_gateway, PaymentGateway)
        assert paypal_gateway.public_key == "paypal-test-client"


class TestTokenCache:
    async def test_token_is_reused_across_calls(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        for n in range(3):
            await paypal_gateway.create_order(order_request(f"pay_{n}"))
        assert (await paypal_sandbox.state())["token_requests"] == 1

    async def test_twenty_concurrent_calls_with_an_expired_token_fetch_one(
        self, paypal_sandbox: SandboxHandle
    ) -> None:
        clock = FakeClock()
        gateway = PayPalGateway(paypal_config(paypal_sandbox.url), clock=clock)
        order = await gateway.create_order(order_request())
        clock.now += 32400  # past expires_in: the cached token is stale for the adapter
        orders = await asyncio.gather(*(gateway.fetch_order(order.id) for _ in range(20)))
        await gateway.aclose()
        assert {o.id for o in orders} == {order.id}
        assert (await paypal_sandbox.state())["token_requests"] == 2

    async def test_twenty_concurrent_first_calls_fetch_one(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        results = await asyncio.gather(
            *(paypal_gateway.fetch_order("NOSUCHORDER") for _ in range(20)),
            return_exceptions=True,
        )
        assert all(isinstance(r, GatewayRejected) for r in results)  # 404s, each one answered
        assert (await paypal_sandbox.state())["token_requests"] == 1

    async def test_token_refreshes_shortly_before_expiry(
        self, paypal_sandbox: SandboxHandle
    ) -> None:
        clock = FakeClock()
        gateway = PayPalGateway(paypal_config(paypal_sandbox.url), clock=clock)
        order = await gateway.create_order(order_request())
        clock.now += 32400 - 150  # 150 s left, outside the 120 s skew: reused
        await gateway.fetch_order(order.id)
        clock.now += 60  # 90 s left, inside the skew: refreshed
        await gateway.fetch_order(order.id)
        await gateway.aclose()
        assert (await paypal_sandbox.state())["token_requests"] == 2

    async def test_revoked_token_is_refreshed_once_and_the_call_retried(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        order = await paypal_gateway.create_order(order_request())
        await paypal_sandbox.control(action="revoke_tokens")
        fetched = await paypal_gateway.fetch_order(order.id)
        state = await paypal_sandbox.state()
        assert fetched.id == order.id
        assert state["token_requests"] == 2
        assert state["requests"]["GET /v2/checkout/orders/{id}"] == 2

    async def test_second_401_is_rejected_after_one_refresh(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        await paypal_sandbox.control(
            action="fail", path="/v2/checkout/orders/*", status=401, count=2
        )
        with pytest.raises(GatewayRejected) as caught:
            await paypal_gateway.fetch_order("ANYORDER")
        assert caught.value.gateway_code == "AUTHENTICATION_FAILURE"
        assert caught.value.http_status == 401
        assert (await paypal_sandbox.state())["token_requests"] == 2

    async def test_wrong_secret_is_rejected_as_invalid_client(
        self, paypal_sandbox: SandboxHandle
    ) -> None:
        gateway = PayPalGateway(paypal_config(paypal_sandbox.url, client_secret="wrong"))
        with pytest.raises(GatewayRejected) as caught:
            await gateway.create_order(order_request())
        await gateway.aclose()
        assert caught.value.gateway_code == "invalid_client"
        assert caught.value.http_status == 401


class TestCheckoutFlow:
    async def test_create_points_the_buyer_at_the_sandbox(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        order = await paypal_gateway.create_order(order_request("pay_42", 2599))
        assert order.status is GatewayOrderStatus.CREATED
        assert order.reference == "pay_42"
        assert (order.amount_minor, order.currency) == (2599, "USD")
        assert order.approve_url == f"{paypal_sandbox.url}/checkoutnow?token={order.id}"

    async def test_jpy_amount_is_sent_without_decimals(self, paypal_gateway: PayPalGateway) -> None:
        order = await paypal_gateway.create_order(order_request("pay_jp", 1500, "JPY"))
        assert (order.amount_minor, order.currency) == (1500, "JPY")

    async def test_approve_then_capture_completes(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        order_id = await approved(paypal_gateway, paypal_sandbox)
        before = await paypal_gateway.fetch_order(order_id)
        payment = await paypal_gateway.capture(order_id, None, 1000, "USD")
        after = await paypal_gateway.fetch_order(order_id)
        assert before.status is GatewayOrderStatus.APPROVED
        assert payment.status is GatewayPaymentStatus.CAPTURED
        assert payment.captured
        assert (payment.order_id, payment.amount_minor, payment.currency) == (
            order_id,
            1000,
            "USD",
        )
        assert after.status is GatewayOrderStatus.PAID
        assert (after.capture_id, after.amount_paid_minor) == (payment.id, 1000)

    async def test_capture_is_listed_and_fetched(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        order_id = await approved(paypal_gateway, paypal_sandbox)
        payment = await paypal_gateway.capture(order_id, None, 1000, "USD")
        listed = await paypal_gateway.list_order_payments(order_id)
        fetched = await paypal_gateway.fetch_payment(payment.id)
        assert [p.id for p in listed] == [payment.id]
        assert fetched.order_id == order_id
        assert fetched.status is GatewayPaymentStatus.CAPTURED

    async def test_repeated_create_replays_the_same_order(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        first = await paypal_gateway.create_order(order_request("pay_7"))
        second = await paypal_gateway.create_order(order_request("pay_7"))
        assert second.id == first.id
        assert (await paypal_sandbox.state())["orders"] == 1

    async def test_a_later_attempt_is_a_new_order_of_the_same_payment(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        first = await paypal_gateway.create_order(order_request("pay_8"))
        second = await paypal_gateway.create_order(order_request("pay_8", attempt=2))
        again = await paypal_gateway.create_order(order_request("pay_8", attempt=2))
        assert first.id != second.id == again.id
        assert first.reference == second.reference == "pay_8"  # webhooks still find the payment
        assert (await paypal_sandbox.state())["orders"] == 2


class TestCapture:
    async def test_capture_before_approval_is_order_not_approved(
        self, paypal_gateway: PayPalGateway
    ) -> None:
        order = await paypal_gateway.create_order(order_request())
        with pytest.raises(GatewayRejected) as caught:
            await paypal_gateway.capture(order.id, None, 1000, "USD")
        assert caught.value.gateway_code == "ORDER_NOT_APPROVED"
        assert caught.value.http_status == 422
        assert caught.value.reason is not None and "approved" in caught.value.reason

    async def test_capture_succeeds_after_an_early_refused_attempt(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        order = await paypal_gateway.create_order(order_request())
        with pytest.raises(GatewayRejected):
            await paypal_gateway.capture(order.id, None, 1000, "USD")
        await paypal_sandbox.buyer(order.id)
        payment = await paypal_gateway.capture(order.id, None, 1000, "USD")
        assert payment.status is GatewayPaymentStatus.CAPTURED

    async def test_double_capture_replays_one_capture(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        order_id = await approved(paypal_gateway, paypal_sandbox)
        first, second = [
            await paypal_gateway.capture(order_id, None, 1000, "USD") for _ in range(2)
        ]
        state = await paypal_sandbox.state()
        assert second.id == first.id
        assert state["captures"] == 1
        assert state["requests"]["POST /v2/checkout/orders/{id}/capture"] == 2

    async def test_capture_made_elsewhere_is_reported_not_refused(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        # Another request id (e.g. ours expired after 6 h) got ORDER_ALREADY_CAPTURED.
        order_id = await approved(paypal_gateway, paypal_sandbox)
        token = await paypal_sandbox.token()
        raw = await paypal_sandbox.http.post(
            f"{paypal_sandbox.url}/v2/checkout/orders/{order_id}/capture",
            json={},
            headers={"Authorization": f"Bearer {token}", "Prefer": "return=representation"},
        )
        capture_id = raw.json()["purchase_units"][0]["payments"]["captures"][0]["id"]
        payment = await paypal_gateway.capture(order_id, None, 1000, "USD")
        assert payment.id == capture_id
        assert (await paypal_sandbox.state())["captures"] == 1

    async def test_declined_capture_is_a_failed_payment(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        await paypal_sandbox.control(action="capture_outcome", outcome="DECLINED", count=1)
        order_id = await approved(paypal_gateway, paypal_sandbox)
        payment = await paypal_gateway.capture(order_id, None, 1000, "USD")
        order = await paypal_gateway.fetch_order(order_id)
        assert payment.status is GatewayPaymentStatus.FAILED
        assert payment.error_code == "DECLINED"
        assert not payment.captured
        assert order.status is GatewayOrderStatus.ATTEMPTED

    async def test_pending_capture_is_pending(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        await paypal_sandbox.control(action="capture_outcome", outcome="PENDING", count=1)
        order_id = await approved(paypal_gateway, paypal_sandbox)
        payment = await paypal_gateway.capture(order_id, None, 1000, "USD")
        assert payment.status is GatewayPaymentStatus.PENDING
        assert not payment.captured


class TestRefunds:
    async def test_no_amount_refunds_the_whole_capture(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox, amount=1000)
        refund = await paypal_gateway.refund(RefundRequest(capture_id, None, "USD", "rf_1"))
        payment = await paypal_gateway.fetch_payment(capture_id)
        assert (refund.amount_minor, refund.status) == (1000, GatewayRefundStatus.PROCESSED)
        assert refund.payment_id == capture_id
        assert payment.status is GatewayPaymentStatus.REFUNDED
        assert payment.amount_refunded_minor == 1000

    async def test_partial_refunds_add_up(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox, amount=1000)
        await paypal_gateway.refund(RefundRequest(capture_id, 300, "USD", "rf_1"))
        await paypal_gateway.refund(RefundRequest(capture_id, 200, "USD", "rf_2"))
        payment = await paypal_gateway.fetch_payment(capture_id)
        assert payment.status is GatewayPaymentStatus.CAPTURED
        assert payment.amount_refunded_minor == 500

    async def test_over_refund_is_rejected(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox, amount=1000)
        await paypal_gateway.refund(RefundRequest(capture_id, 600, "USD", "rf_1"))
        with pytest.raises(GatewayRejected) as caught:
            await paypal_gateway.refund(RefundRequest(capture_id, 401, "USD", "rf_2"))
        assert caught.value.gateway_code == "REFUND_AMOUNT_EXCEEDED"

    async def test_refund_after_full_refund_is_rejected(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox)
        await paypal_gateway.refund(RefundRequest(capture_id, None, "USD", "rf_1"))
        with pytest.raises(GatewayRejected) as caught:
            await paypal_gateway.refund(RefundRequest(capture_id, None, "USD", "rf_2"))
        assert caught.value.gateway_code == "CAPTURE_FULLY_REFUNDED"

    async def test_same_idempotency_key_refunds_once(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox)
        first = await paypal_gateway.refund(RefundRequest(capture_id, 100, "USD", "rf_1"))
        second = await paypal_gateway.refund(RefundRequest(capture_id, 100, "USD", "rf_1"))
        assert second.id == first.id
        assert (await paypal_sandbox.state())["refunds"] == 1

    async def test_refund_is_fetched(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox)
        refund = await paypal_gateway.refund(RefundRequest(capture_id, 250, "USD", "rf_1"))
        fetched = await paypal_gateway.fetch_refund(capture_id, refund.id)
        assert fetched == refund

    async def test_zero_amount_is_rejected_without_a_call(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        with pytest.raises(GatewayRejected) as caught:
            await paypal_gateway.refund(RefundRequest("ABCDEFGHIJKLMNOPQ", 0, "USD", "rf_1"))
        assert caught.value.gateway_code == "CANNOT_BE_ZERO_OR_NEGATIVE"
        assert (await paypal_sandbox.state())["request_count"] == 0


class TestUnsupported:
    async def test_inr_order_is_refused_before_any_request(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        with pytest.raises(UnsupportedMethod):
            await paypal_gateway.create_order(order_request(currency="INR", amount=50000))
        assert (await paypal_sandbox.state())["request_count"] == 0

    async def test_inr_capture_and_refund_are_refused_before_any_request(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        with pytest.raises(UnsupportedMethod):
            await paypal_gateway.capture("ABCDEFGHIJKLMNOPQ", None, 50000, "INR")
        with pytest.raises(UnsupportedMethod):
            await paypal_gateway.refund(RefundRequest("ABCDEFGHIJKLMNOPQ", None, "INR", "rf"))
        assert (await paypal_sandbox.state())["request_count"] == 0

    async def test_card_through_paypal_is_paid_on_the_approval_page(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        order = await paypal_gateway.create_order(
            CreateOrderRequest("pay_1", 1000, "USD", MethodKind.CARD)
        )
        assert order.approve_url and "checkoutnow" in order.approve_url

    async def test_card_in_inr_through_paypal_is_refused(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        request = CreateOrderRequest("pay_1", 1000, "INR", MethodKind.CARD)
        with pytest.raises(UnsupportedMethod):
            await paypal_gateway.create_order(request)
        assert (await paypal_sandbox.state())["request_count"] == 0

    @pytest.mark.parametrize(
        ("method", "currency", "amount", "expected"),
        [
            (MethodKind.PAYPAL, "USD", 1000, True),
            (MethodKind.PAYPAL, "JPY", 1, True),
            (MethodKind.PAYPAL, "INR", 1000, False),  # never INR
            (MethodKind.UPI, "USD", 1000, False),  # UPI is Razorpay's
            (MethodKind.CARD, "USD", 1000, True),  # guest card checkout on PayPal's page
            (MethodKind.CARD, "INR", 1000, False),  # still never INR
            (MethodKind.PAYPAL, "USD", 0, False),  # PayPal amounts must be positive
            (MethodKind.PAYPAL, "HUF", 150050, False),  # HUF takes no decimals at PayPal
            (MethodKind.PAYPAL, "XYZ", 1000, False),  # not a merchant currency
        ],
    )
    def test_supports(
        self,
        paypal_gateway: PayPalGateway,
        method: MethodKind,
        currency: str,
        amount: int,
        expected: bool,
    ) -> None:
        assert paypal_gateway.supports(method, currency, amount) is expected

    def test_config_refuses_inr(self) -> None:
        with pytest.raises(ValueError, match="INR"):
            paypal_config("http://x", supported_currencies=frozenset({"USD", "INR"}))


class TestErrorMapping:
    async def test_500_is_unavailable(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        await paypal_sandbox.control(action="fail", path="/v2/checkout/orders/*", status=500)
        with pytest.raises(GatewayUnavailable):
            await paypal_gateway.fetch_order("ANYORDER")

    async def test_503_on_create_is_unavailable_and_the_retry_creates_once(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        await paypal_sandbox.control(action="fail", path="/v2/checkout/orders", status=503)
        with pytest.raises(GatewayUnavailable):
            await paypal_gateway.create_order(order_request())
        order = await paypal_gateway.create_order(order_request())
        assert order.status is GatewayOrderStatus.CREATED
        assert (await paypal_sandbox.state())["orders"] == 1

    async def test_429_is_unavailable_with_retry_after(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        await paypal_sandbox.control(
            action="fail", path="/v2/checkout/orders", status=429, retry_after="3"
        )
        with pytest.raises(GatewayUnavailable) as caught:
            await paypal_gateway.create_order(order_request())
        assert caught.value.retry_after == 3.0

    async def test_unknown_order_is_rejected_as_not_found(
        self, paypal_gateway: PayPalGateway
    ) -> None:
        with pytest.raises(GatewayRejected) as caught:
            await paypal_gateway.fetch_order("NOSUCHORDER")
        assert (caught.value.gateway_code, caught.value.http_status) == (
            "INVALID_RESOURCE_ID",
            404,
        )

    async def test_malformed_id_never_reaches_a_url(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        with pytest.raises(GatewayRejected) as caught:
            await paypal_gateway.fetch_order("../v1/oauth2/token")
        assert caught.value.gateway_code == "INVALID_RESOURCE_ID"
        assert (await paypal_sandbox.state())["request_count"] == 0

    async def test_422_without_details_is_rejected_under_its_name(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        order_id = await approved(paypal_gateway, paypal_sandbox)
        await paypal_sandbox.control(
            action="fail", path=f"/v2/checkout/orders/{order_id}/capture", status=422
        )
        with pytest.raises(GatewayRejected) as caught:
            await paypal_gateway.capture(order_id, None, 1000, "USD")
        assert (caught.value.gateway_code, caught.value.http_status) == (
            "UNPROCESSABLE_ENTITY",
            422,
        )

    async def test_read_timeout_after_create_is_outcome_unknown(
        self, paypal_sandbox: SandboxHandle
    ) -> None:
        gateway = PayPalGateway(paypal_config(paypal_sandbox.url, read_timeout=0.3))
        await gateway.create_order(order_request("pay_warm"))  # token first, undelayed
        await paypal_sandbox.control(action="delay", path="/v2/checkout/orders", seconds=1.0)
        with pytest.raises(GatewayOutcomeUnknown):
            await gateway.create_order(order_request("pay_slow"))
        # PayPal did act; repeating with the same PayPal-Request-Id finds that order.
        order = await gateway.create_order(order_request("pay_slow"))
        await gateway.aclose()
        assert order.reference == "pay_slow"
        assert (await paypal_sandbox.state())["orders"] == 2

    async def test_read_timeout_on_get_is_unavailable(self, paypal_sandbox: SandboxHandle) -> None:
        gateway = PayPalGateway(paypal_config(paypal_sandbox.url, read_timeout=0.3))
        order = await gateway.create_order(order_request())
        await paypal_sandbox.control(action="delay", path="/v2/checkout/orders/*", seconds=1.0)
        with pytest.raises(GatewayUnavailable):
            await gateway.fetch_order(order.id)
        await gateway.aclose()

    async def test_connection_refused_is_unavailable(self) -> None:
        gateway = PayPalGateway(paypal_config(f"http://127.0.0.1:{free_port()}"))
        with pytest.raises(GatewayUnavailable):
            await gateway.create_order(order_request())
        await gateway.aclose()


class TestVerifyCheckout:
    @pytest.mark.parametrize(
        ("order_id", "expected"),
        [
            ("5O190127TN364715T", True),
            ("5o190127tn364715t", False),  # PayPal ids are upper case
            ("", False),
            ("A" * 37, False),  # longer than PayPal's 36
            ("5O190127TN364715T/../x", False),
        ],
    )
    def test_only_well_formed_order_ids_pass(
        self, paypal_gateway: PayPalGateway, order_id: str, expected: bool
    ) -> None:
        proof = CheckoutProof(order_id=order_id, payment_id=None, signature=None)
        assert paypal_gateway.verify_checkout(proof) is expected


async def delivery_of(receiver: WebhookReceiver, event_type: str) -> tuple[dict[str, str], bytes]:
    await wait_for(lambda: bool(receiver.of_type(event_type)))
    delivery = receiver.of_type(event_type)[0]
    return delivery.headers, delivery.body


class TestVerifyWebhook:
    async def test_capture_completed_is_verified_and_normalised(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox, "pay_77", 1234)
        headers, body = await delivery_of(paypal_webhook_receiver, "PAYMENT.CAPTURE.COMPLETED")
        event = await paypal_gateway.verify_webhook(headers, body)
        again = await paypal_gateway.verify_webhook(headers, body)
        assert event.kind is GatewayEventKind.PAYMENT_CAPTURED
        assert event.event_id == json.loads(body)["id"]
        assert event.payment_id == capture_id
        assert event.reference == "pay_77"
        assert (event.amount_minor, event.currency) == (1234, "USD")
        assert event.order_id is not None
        assert again.event_id == event.event_id  # a redelivery keeps its id

    async def test_order_approved_is_normalised(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        order_id = await approved(paypal_gateway, paypal_sandbox, "pay_5")
        headers, body = await delivery_of(paypal_webhook_receiver, "CHECKOUT.ORDER.APPROVED")
        event = await paypal_gateway.verify_webhook(headers, body)
        assert event.kind is GatewayEventKind.ORDER_APPROVED
        assert (event.order_id, event.reference) == (order_id, "pay_5")

    async def test_refund_is_normalised(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox)
        refund = await paypal_gateway.refund(RefundRequest(capture_id, 400, "USD", "rf_1"))
        headers, body = await delivery_of(paypal_webhook_receiver, "PAYMENT.CAPTURE.REFUNDED")
        event = await paypal_gateway.verify_webhook(headers, body)
        assert event.kind is GatewayEventKind.REFUND_PROCESSED
        assert (event.refund_id, event.payment_id, event.amount_minor) == (
            refund.id,
            capture_id,
            400,
        )
        # Our idempotency key travels as the refund's custom_id and names it in both.
        assert (refund.reference, event.refund_reference) == ("rf_1", "rf_1")

    async def test_declined_capture_is_payment_failed(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        await paypal_sandbox.control(action="capture_outcome", outcome="DECLINED", count=1)
        await captured(paypal_gateway, paypal_sandbox)
        headers, body = await delivery_of(paypal_webhook_receiver, "PAYMENT.CAPTURE.DECLINED")
        event = await paypal_gateway.verify_webhook(headers, body)
        assert event.kind is GatewayEventKind.PAYMENT_FAILED
        assert event.error_code == "DECLINED"

    async def test_changed_body_fails(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        await captured(paypal_gateway, paypal_sandbox)
        headers, body = await delivery_of(paypal_webhook_receiver, "PAYMENT.CAPTURE.COMPLETED")
        forged = body.replace(b'"value":"10.00"', b'"value":"99.00"')
        assert forged != body
        with pytest.raises(WebhookVerificationFailed):
            await paypal_gateway.verify_webhook(headers, forged)

    async def test_missing_headers_fail_without_a_call(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        await approved(paypal_gateway, paypal_sandbox)
        headers, body = await delivery_of(paypal_webhook_receiver, "CHECKOUT.ORDER.APPROVED")
        before = (await paypal_sandbox.state())["request_count"]
        del headers["paypal-transmission-sig"]
        with pytest.raises(WebhookVerificationFailed, match="paypal-transmission-sig"):
            await paypal_gateway.verify_webhook(headers, body)
        assert (await paypal_sandbox.state())["request_count"] == before

    async def test_malformed_body_is_a_value_error(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        await approved(paypal_gateway, paypal_sandbox)
        headers, _ = await delivery_of(paypal_webhook_receiver, "CHECKOUT.ORDER.APPROVED")
        with pytest.raises(ValueError, match="not JSON"):
            await paypal_gateway.verify_webhook(headers, b"{not json")

    async def test_without_webhook_id_nothing_verifies(
        self,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        gateway = PayPalGateway(paypal_config(paypal_sandbox.url, webhook_id=None))
        await approved(gateway, paypal_sandbox)
        headers, body = await delivery_of(paypal_webhook_receiver, "CHECKOUT.ORDER.APPROVED")
        with pytest.raises(WebhookVerificationFailed, match="webhook id"):
            await gateway.verify_webhook(headers, body)
        await gateway.aclose()


class TestSelfVerifyWebhook:
    async def test_allow_listed_certificate_verifies_offline(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        gateway = PayPalGateway(
            paypal_config(
                paypal_sandbox.url,
                self_verify_webhooks=True,
                cert_host_allowlist=frozenset({"127.0.0.1"}),
            )
        )
        await captured(paypal_gateway, paypal_sandbox)
        headers, body = await delivery_of(paypal_webhook_receiver, "PAYMENT.CAPTURE.COMPLETED")
        event = await gateway.verify_webhook(headers, body)
        with pytest.raises(WebhookVerificationFailed):
            await gateway.verify_webhook(headers, body.replace(b"COMPLETED", b"DECLINED", 1))
        await gateway.aclose()
        state = await paypal_sandbox.state()
        assert event.kind is GatewayEventKind.PAYMENT_CAPTURED
        assert state["requests"]["GET /v1/notifications/certs/{id}"] == 1  # cached
        assert "POST /v1/notifications/verify-webhook-signature" not in state["requests"]

    async def test_certificate_host_off_the_allow_list_is_never_fetched(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        gateway = PayPalGateway(paypal_config(paypal_sandbox.url, self_verify_webhooks=True))
        await approved(paypal_gateway, paypal_sandbox)
        headers, body = await delivery_of(paypal_webhook_receiver, "CHECKOUT.ORDER.APPROVED")
        with pytest.raises(WebhookVerificationFailed, match="not allowed"):
            await gateway.verify_webhook(headers, body)
        await gateway.aclose()
        assert "GET /v1/notifications/certs/{id}" not in (await paypal_sandbox.state())["requests"]


class TestCaptureLifecycle:
    """COMPLETED is the only capture status that is money taken, on every path."""

    async def test_a_pending_capture_then_completed_is_captured(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        await paypal_sandbox.control(action="capture_outcome", outcome="PENDING", count=1)
        order_id = await approved(paypal_gateway, paypal_sandbox)
        pending = await paypal_gateway.capture(order_id, None, 1000, "USD")
        assert (await paypal_gateway.fetch_order(order_id)).status is GatewayOrderStatus.ATTEMPTED
        await paypal_sandbox.control(
            action="settle_capture", capture_id=pending.id, outcome="COMPLETED"
        )
        settled = await paypal_gateway.fetch_payment(pending.id)
        assert (settled.status, settled.captured) == (GatewayPaymentStatus.CAPTURED, True)
        assert (await paypal_gateway.fetch_order(order_id)).status is GatewayOrderStatus.PAID

    async def test_a_pending_capture_then_denied_failed(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        await paypal_sandbox.control(action="capture_outcome", outcome="PENDING", count=1)
        order_id = await approved(paypal_gateway, paypal_sandbox)
        pending = await paypal_gateway.capture(order_id, None, 1000, "USD")
        await paypal_sandbox.control(
            action="settle_capture", capture_id=pending.id, outcome="DENIED"
        )
        denied = await paypal_gateway.fetch_payment(pending.id)
        assert (denied.status, denied.captured) == (GatewayPaymentStatus.FAILED, False)

    async def test_a_reversed_capture_is_reversed_and_holds_nothing(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox, amount=1000)
        await paypal_gateway.refund(RefundRequest(capture_id, 300, "USD", "rf_before_cb"))
        await paypal_sandbox.control(action="reverse_capture", capture_id=capture_id)
        reversed_ = await paypal_gateway.fetch_payment(capture_id)
        assert reversed_.status is GatewayPaymentStatus.REVERSED
        assert (reversed_.captured, reversed_.amount_refunded_minor) == (True, 1000)

    def test_every_documented_capture_status_is_classified(self) -> None:
        assert set(paypal_mapping.CAPTURE_STATUS) == {
            "COMPLETED",
            "PARTIALLY_REFUNDED",
            "REFUNDED",
            "PENDING",
            "DECLINED",
            "DENIED",
            "FAILED",
            "REVERSED",
        }


class TestCaptureWebhooks:
    async def test_pending_then_completed(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        await paypal_sandbox.control(action="capture_outcome", outcome="PENDING", count=1)
        capture_id = await captured(paypal_gateway, paypal_sandbox)
        headers, body = await delivery_of(paypal_webhook_receiver, "PAYMENT.CAPTURE.PENDING")
        pending = await paypal_gateway.verify_webhook(headers, body)
        assert (pending.kind, pending.payment_id) == (GatewayEventKind.PAYMENT_PENDING, capture_id)
        await paypal_sandbox.control(
            action="settle_capture", capture_id=capture_id, outcome="COMPLETED"
        )
        headers, body = await delivery_of(paypal_webhook_receiver, "PAYMENT.CAPTURE.COMPLETED")
        completed = await paypal_gateway.verify_webhook(headers, body)
        assert (completed.kind, completed.payment_id) == (
            GatewayEventKind.PAYMENT_CAPTURED,
            capture_id,
        )

    async def test_denied_is_payment_failed(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        await paypal_sandbox.control(action="capture_outcome", outcome="PENDING", count=1)
        capture_id = await captured(paypal_gateway, paypal_sandbox)
        await paypal_sandbox.control(
            action="settle_capture", capture_id=capture_id, outcome="DENIED"
        )
        headers, body = await delivery_of(paypal_webhook_receiver, "PAYMENT.CAPTURE.DENIED")
        event = await paypal_gateway.verify_webhook(headers, body)
        assert (event.kind, event.payment_id) == (GatewayEventKind.PAYMENT_FAILED, capture_id)
        assert event.error_code == "DECLINED"

    async def test_reversed_names_the_capture_and_its_reversal(
        self,
        paypal_gateway: PayPalGateway,
        paypal_sandbox: SandboxHandle,
        paypal_webhook_receiver: WebhookReceiver,
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox, amount=1000)
        await paypal_sandbox.control(action="reverse_capture", capture_id=capture_id)
        headers, body = await delivery_of(paypal_webhook_receiver, "PAYMENT.CAPTURE.REVERSED")
        event = await paypal_gateway.verify_webhook(headers, body)
        assert event.kind is GatewayEventKind.PAYMENT_REVERSED
        assert (event.payment_id, event.refund_id) == (
            capture_id,
            paypal_mapping.reversal_id(capture_id),
        )
        assert (event.amount_minor, event.currency) == (1000, "USD")

    def test_order_completed_is_paid_only_with_a_completed_capture(self) -> None:
        order: dict[str, Any] = {
            "id": "5O190127TN364715T",
            "status": "COMPLETED",
            "purchase_units": [
                {
                    "reference_id": "pay_9",
                    "amount": {"currency_code": "USD", "value": "10.00"},
                    "payments": {
                        "captures": [
                            {
                                "id": "40V95236PS9814847",
                                "status": "PENDING",
                                "amount": {"currency_code": "USD", "value": "10.00"},
                            }
                        ]
                    },
                }
            ],
        }
        envelope = {
            "id": "WH-1",
            "event_type": "CHECKOUT.ORDER.COMPLETED",
            "resource_type": "checkout-order",
            "resource": order,
        }
        assert paypal_mapping.to_event(envelope).kind is GatewayEventKind.PAYMENT_PENDING
        order["purchase_units"][0]["payments"]["captures"][0]["status"] = "COMPLETED"
        paid = paypal_mapping.to_event(envelope)
        assert (paid.kind, paid.payment_id) == (GatewayEventKind.ORDER_PAID, "40V95236PS9814847")
        order["purchase_units"][0]["payments"]["captures"][0]["status"] = "DECLINED"
        assert paypal_mapping.to_event(envelope).kind is GatewayEventKind.PAYMENT_FAILED


class TestListRefunds:
    async def test_lists_ours_the_dashboard_s_and_a_chargeback(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox, amount=1000)
        ours = await paypal_gateway.refund(RefundRequest(capture_id, 300, "USD", "rf_list_1"))
        theirs = (
            await paypal_sandbox.control(
                action="dashboard_refund", capture_id=capture_id, amount=200
            )
        )["result"]
        await paypal_sandbox.control(action="reverse_capture", capture_id=capture_id)
        listed = await paypal_gateway.list_refunds(capture_id)
        assert [(r.id, r.amount_minor, r.reversal) for r in listed] == [
            (ours.id, 300, False),
            (theirs["id"], 200, False),
            (paypal_mapping.reversal_id(capture_id), 500, True),
        ]
        assert all(r.status is GatewayRefundStatus.PROCESSED for r in listed)
        assert all(r.payment_id == capture_id for r in listed)

    async def test_a_capture_without_refunds_lists_none(
        self, paypal_gateway: PayPalGateway, paypal_sandbox: SandboxHandle
    ) -> None:
        capture_id = await captured(paypal_gateway, paypal_sandbox)
        assert await paypal_gateway.list_refunds(capture_id) == []

    async def test_keeps_no_customers(self, paypal_gateway: PayPalGateway) -> None:
        assert await paypal_gateway.create_customer("shopper-1") is None

"""The PayPal sandbox over real HTTP, checked against PayPal's documented behaviour."""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.routing import Mount

from gateways.sandbox.paypal import PayPalSandboxConfig, create_paypal_sandbox
from tests.gateways.paypal_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    WEBHOOK_ID,
    SandboxHandle,
    WebhookReceiver,
    paypal_sandbox,
    paypal_sandbox_url,
    paypal_webhook_receiver,
    serve_app,
    wait_for,
)

__all__ = ["paypal_sandbox", "paypal_sandbox_url", "paypal_webhook_receiver"]

ID_RE = re.compile(r"^[A-Z0-9]{17}$")


def order_body(currency: str = "USD", value: str = "10.00", **unit: Any) -> dict[str, Any]:
    """Current style: payment_source.paypal.experience_context (PAYER_ACTION_REQUIRED)."""
    return {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": currency, "value": value}, **unit}],
        "payment_source": {
            "paypal": {
                "experience_context": {
                    "return_url": "https://shop.example/return",
                    "cancel_url": "https://shop.example/cancel",
                }
            }
        },
    }


class Api:
    """Raw PayPal calls with a bearer token, as any PayPal client would make them."""

    def __init__(self, sandbox: SandboxHandle, token: str) -> None:
        self.sandbox = sandbox
        self.headers = {"Authorization": f"Bearer {token}"}

    async def post(
        self, path: str, body: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return await self.sandbox.http.post(
            self.sandbox.url + path,
            json=body if body is not None else {},
            headers={**self.headers, **{k.replace("_", "-"): v for k, v in headers.items()}},
        )

    async def get(self, path: str) -> httpx.Response:
        return await self.sandbox.http.get(self.sandbox.url + path, headers=self.headers)

    async def approved_order(self, **kwargs: Any) -> str:
        created = await self.post("/v2/checkout/orders", order_body(**kwargs))
        order_id: str = created.json()["id"]
        assert (await self.sandbox.buyer(order_id)).status_code == 200
        return order_id

    async def capture(self, order_id: str, **headers: str) -> httpx.Response:
        return await self.post(
            f"/v2/checkout/orders/{order_id}/capture", Prefer="return=representation", **headers
        )

    async def captured(self, **kwargs: Any) -> dict[str, Any]:
        order_id = await self.approved_order(**kwargs)
        response = await self.capture(order_id)
        capture: dict[str, Any] = response.json()["purchase_units"][0]["payments"]["captures"][0]
        return capture


@pytest.fixture
async def api(paypal_sandbox: SandboxHandle) -> Api:
    return Api(paypal_sandbox, await paypal_sandbox.token())


def issue_of(response: httpx.Response) -> str:
    issue: str = response.json()["details"][0]["issue"]
    return issue


class TestOAuth:
    async def test_client_credentials_give_a_bearer_token(
        self, paypal_sandbox: SandboxHandle
    ) -> None:
        response = await paypal_sandbox.http.post(
            f"{paypal_sandbox.url}/v1/oauth2/token",
            auth=(CLIENT_ID, CLIENT_SECRET),
            data={"grant_type": "client_credentials"},
        )
        body = response.json()
        assert response.status_code == 200
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 32400
        assert body["app_id"].startswith("APP-")
        assert (await paypal_sandbox.state())["token_requests"] == 1

    async def test_wrong_secret_is_invalid_client(self, paypal_sandbox: SandboxHandle) -> None:
        response = await paypal_sandbox.http.post(
            f"{paypal_sandbox.url}/v1/oauth2/token",
            auth=(CLIENT_ID, "wrong"),
            data={"grant_type": "client_credentials"},
        )
        assert response.status_code == 401
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "Client Authentication failed",
        }
        assert (await paypal_sandbox.state())["token_requests"] == 0

    async def test_missing_grant_type_is_refused(self, paypal_sandbox: SandboxHandle) -> None:
        response = await paypal_sandbox.http.post(
            f"{paypal_sandbox.url}/v1/oauth2/token", auth=(CLIENT_ID, CLIENT_SECRET), data={}
        )
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"

    async def test_expires_in_is_settable_and_enforced(self, paypal_sandbox: SandboxHandle) -> None:
        await paypal_sandbox.control(action="token_expires_in", seconds=0)
        api = Api(paypal_sandbox, await paypal_sandbox.token())
        response = await api.get("/v2/checkout/orders/ABC")
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"

    async def test_missing_bearer_is_authentication_failure(
        self, paypal_sandbox: SandboxHandle
    ) -> None:
        response = await paypal_sandbox.http.get(f"{paypal_sandbox.url}/v2/checkout/orders/ABC")
        assert response.status_code == 401
        assert response.json()["name"] == "AUTHENTICATION_FAILURE"

    async def test_revoked_token_is_invalid(self, api: Api) -> None:
        await api.sandbox.control(action="revoke_tokens")
        response = await api.get("/v2/checkout/orders/ABC")
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"


class TestCreateOrder:
    async def test_experience_context_needs_payer_action(self, api: Api) -> None:
        response = await api.post("/v2/checkout/orders", order_body())
        body = response.json()
        assert response.status_code == 201
        assert ID_RE.fullmatch(body["id"])
        assert body["status"] == "PAYER_ACTION_REQUIRED"
        assert set(body) == {"id", "status", "links"}  # Prefer: return=minimal is the default
        action = next(link for link in body["links"] if link["rel"] == "payer-action")
        assert action["href"] == f"{api.sandbox.url}/checkoutnow?token={body['id']}"

    async def test_legacy_request_is_created_with_approve_link(self, api: Api) -> None:
        body = order_body()
        del body["payment_source"]
        response = await api.post("/v2/checkout/orders", body, Prefer="return=representation")
        order = response.json()
        assert order["status"] == "CREATED"
        assert order["purchase_units"][0]["reference_id"] == "default"
        assert {link["rel"] for link in order["links"]} == {"self", "approve", "update", "capture"}

    async def test_inr_is_refused_for_this_merchant(self, api: Api) -> None:
        response = await api.post("/v2/checkout/orders", order_body("INR", "100.00"))
        assert response.status_code == 422
        assert response.json()["name"] == "UNPROCESSABLE_ENTITY"
        assert issue_of(response) == "INVALID_CURRENCY_CODE"
        assert (await api.sandbox.state())["orders"] == 0

    async def test_jpy_with_decimals_is_decimal_precision(self, api: Api) -> None:
        response = await api.post("/v2/checkout/orders", order_body("JPY", "100.50"))
        assert response.status_code == 422
        assert issue_of(response) == "DECIMAL_PRECISION"

    async def test_zero_amount_is_refused(self, api: Api) -> None:
        response = await api.post("/v2/checkout/orders", order_body("USD", "0.00"))
        assert response.status_code == 422
        assert issue_of(response) == "CANNOT_BE_ZERO_OR_NEGATIVE"

    async def test_amount_as_number_is_a_syntax_error(self, api: Api) -> None:
        body = order_body()
        body["purchase_units"][0]["amount"]["value"] = 10
        response = await api.post("/v2/checkout/orders", body)
        assert response.status_code == 400
        assert issue_of(response) == "INVALID_PARAMETER_SYNTAX"

    async def test_missing_content_type_is_415(self, api: Api) -> None:
        response = await api.sandbox.http.post(
            f"{api.sandbox.url}/v2/checkout/orders",
            content=json.dumps(order_body()),
            headers=api.headers,
        )
        assert response.status_code == 415
        assert response.json()["name"] == "UNSUPPORTED_MEDIA_TYPE"

    async def test_malformed_json_is_400(self, api: Api) -> None:
        response = await api.sandbox.http.post(
            f"{api.sandbox.url}/v2/checkout/orders",
            content=b"{not json",
            headers={**api.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert issue_of(response) == "MALFORMED_REQUEST_JSON"

    async def test_reused_invoice_id_is_duplicate(self, api: Api) -> None:
        first = await api.post("/v2/checkout/orders", order_body(invoice_id="pay_1"))
        second = await api.post("/v2/checkout/orders", order_body(invoice_id="pay_1"))
        assert first.status_code == 201
        assert second.status_code == 422
        assert issue_of(second) == "DUPLICATE_INVOICE_ID"

    async def test_same_request_id_replays_with_200(self, api: Api) -> None:
        body = order_body(invoice_id="pay_2")
        first = await api.post("/v2/checkout/orders", body, PayPal_Request_Id="create-pay_2")
        second = await api.post("/v2/checkout/orders", body, PayPal_Request_Id="create-pay_2")
        assert (first.status_code, second.status_code) == (201, 200)
        assert second.json() == first.json()
        assert (await api.sandbox.state())["orders"] == 1

    async def test_unknown_order_is_404_with_debug_id(self, api: Api) -> None:
        response = await api.get("/v2/checkout/orders/NOSUCHORDER")
        body = response.json()
        assert response.status_code == 404
        assert body["name"] == "RESOURCE_NOT_FOUND"
        assert body["details"][0]["issue"] == "INVALID_RESOURCE_ID"
        assert response.headers["Paypal-Debug-Id"] == body["debug_id"]


class TestBuyerApproval:
    async def test_checkout_page_is_html(self, api: Api) -> None:
        order_id = (await api.post("/v2/checkout/orders", order_body())).json()["id"]
        response = await api.sandbox.http.get(
            f"{api.sandbox.url}/checkoutnow", params={"token": order_id}
        )
        assert response.status_code == 200
        assert order_id in response.text

    async def test_approve_moves_order_to_approved(self, api: Api) -> None:
        order_id = (await api.post("/v2/checkout/orders", order_body())).json()["id"]
        answer = (await api.sandbox.buyer(order_id)).json()
        order = (await api.get(f"/v2/checkout/orders/{order_id}")).json()
        assert answer["status"] == "APPROVED"
        assert re.fullmatch(
            rf"https://shop\.example/return\?token={order_id}&PayerID=[A-Z0-9]{{13}}",
            answer["redirect_url"],
        )
        assert order["status"] == "APPROVED"
        assert order["payer"]["payer_id"] in answer["redirect_url"]

    async def test_cancel_redirects_and_leaves_the_order(self, api: Api) -> None:
        order_id = (await api.post("/v2/checkout/orders", order_body())).json()["id"]
        answer = (await api.sandbox.buyer(order_id, "cancel")).json()
        assert answer["redirect_url"] == f"https://shop.example/cancel?token={order_id}"
        assert answer["status"] == "PAYER_ACTION_REQUIRED"


class TestCapture:
    async def test_unapproved_order_is_not_captured(self, api: Api) -> None:
        order_id = (await api.post("/v2/checkout/orders", order_body())).json()["id"]
        response = await api.capture(order_id)
        assert response.status_code == 422
        assert issue_of(response) == "ORDER_NOT_APPROVED"

    async def test_approved_order_is_captured(self, api: Api) -> None:
        order_id = await api.approved_order(value="12.34", custom_id="pay_9")
        response = await api.capture(order_id)
        order = response.json()
        capture = order["purchase_units"][0]["payments"]["captures"][0]
        assert response.status_code == 201
        assert order["status"] == "COMPLETED"
        assert ID_RE.fullmatch(capture["id"])
        assert capture["status"] == "COMPLETED"
        assert capture["amount"] == {"currency_code": "USD", "value": "12.34"}
        assert capture["custom_id"] == "pay_9"
        breakdown = capture["seller_receivable_breakdown"]
        assert breakdown["gross_amount"]["value"] == "12.34"

    async def test_second_capture_is_already_captured(self, api: Api) -> None:
        order_id = await api.approved_order()
        await api.capture(order_id)
        response = await api.capture(order_id)
        assert response.status_code == 422
        assert issue_of(response) == "ORDER_ALREADY_CAPTURED"

    async def test_same_request_id_replays_the_capture(self, api: Api) -> None:
        order_id = await api.approved_order()
        first = await api.capture(order_id, PayPal_Request_Id=f"capture-{order_id}")
        second = await api.capture(order_id, PayPal_Request_Id=f"capture-{order_id}")
        assert (first.status_code, second.status_code) == (201, 200)
        assert second.json() == first.json()
        assert (await api.sandbox.state())["captures"] == 1

    async def test_refused_capture_is_not_stored_for_replay(self, api: Api) -> None:
        order_id = (await api.post("/v2/checkout/orders", order_body())).json()["id"]
        refused = await api.capture(order_id, PayPal_Request_Id="capture-x")
        await api.sandbox.buyer(order_id)
        captured = await api.capture(order_id, PayPal_Request_Id="capture-x")
        assert (refused.status_code, captured.status_code) == (422, 201)

    @pytest.mark.parametrize(
        ("outcome", "reason"), [("PENDING", "PENDING_REVIEW"), ("DECLINED", None)]
    )
    async def test_outcome_is_selectable(self, api: Api, outcome: str, reason: str | None) -> None:
        await api.sandbox.control(action="capture_outcome", outcome=outcome, count=1)
        capture = await api.captured()
        assert capture["status"] == outcome
        assert capture.get("status_details", {}).get("reason") == reason
        assert (await api.captured())["status"] == "COMPLETED"  # count=1 only

    async def test_missing_content_type_is_415(self, api: Api) -> None:
        order_id = await api.approved_order()
        response = await api.sandbox.http.post(
            f"{api.sandbox.url}/v2/checkout/orders/{order_id}/capture", headers=api.headers
        )
        assert response.status_code == 415

    async def test_mock_response_header_forces_an_issue(self, api: Api) -> None:
        order_id = await api.approved_order()
        response = await api.capture(
            order_id,
            PayPal_Mock_Response=json.dumps({"mock_application_codes": "INSTRUMENT_DECLINED"}),
        )
        assert response.status_code == 422
        assert issue_of(response) == "INSTRUMENT_DECLINED"


class TestRefunds:
    async def test_empty_body_refunds_everything(self, api: Api) -> None:
        capture = await api.captured(value="10.00")
        response = await api.post(f"/v2/payments/captures/{capture['id']}/refund")
        refund = (await api.get(f"/v2/payments/refunds/{response.json()['id']}")).json()
        after = (await api.get(f"/v2/payments/captures/{capture['id']}")).json()
        assert response.status_code == 201
        assert refund["amount"]["value"] == "10.00"
        assert refund["status"] == "COMPLETED"
        assert after["status"] == "REFUNDED"

    async def test_partial_refunds_keep_a_running_total(self, api: Api) -> None:
        capture = await api.captured(value="10.00")
        path = f"/v2/payments/captures/{capture['id']}/refund"
        amount = {"currency_code": "USD", "value": "3.00"}
        first = await api.post(path, {"amount": amount}, Prefer="return=representation")
        second = await api.post(path, {"amount": amount}, Prefer="return=representation")
        totals = [
            r.json()["seller_payable_breakdown"]["total_refunded_amount"]["value"]
            for r in (first, second)
        ]
        after = (await api.get(f"/v2/payments/captures/{capture['id']}")).json()
        assert totals == ["3.00", "6.00"]
        assert after["status"] == "PARTIALLY_REFUNDED"

    async def test_more_than_the_remainder_is_refused(self, api: Api) -> None:
        capture = await api.captured(value="10.00")
        path = f"/v2/payments/captures/{capture['id']}/refund"
        await api.post(path, {"amount": {"currency_code": "USD", "value": "6.00"}})
        response = await api.post(path, {"amount": {"currency_code": "USD", "value": "4.01"}})
        assert response.status_code == 422
        assert issue_of(response) == "REFUND_AMOUNT_EXCEEDED"

    async def test_fully_refunded_capture_is_refused(self, api: Api) -> None:
        capture = await api.captured()
        path = f"/v2/payments/captures/{capture['id']}/refund"
        await api.post(path)
        response = await api.post(path)
        assert response.status_code == 422
        assert issue_of(response) == "CAPTURE_FULLY_REFUNDED"

    async def test_other_currency_is_a_mismatch(self, api: Api) -> None:
        capture = await api.captured()
        response = await api.post(
            f"/v2/payments/captures/{capture['id']}/refund",
            {"amount": {"currency_code": "EUR", "value": "1.00"}},
        )
        assert response.status_code == 422
        assert issue_of(response) == "REFUND_CAPTURE_CURRENCY_MISMATCH"

    async def test_pending_capture_cannot_be_refunded(self, api: Api) -> None:
        await api.sandbox.control(action="capture_outcome", outcome="PENDING", count=1)
        capture = await api.captured()
        response = await api.post(f"/v2/payments/captures/{capture['id']}/refund")
        assert response.status_code == 422
        assert issue_of(response) == "PENDING_CAPTURE"

    async def test_same_request_id_refunds_once(self, api: Api) -> None:
        capture = await api.captured(value="10.00")
        path = f"/v2/payments/captures/{capture['id']}/refund"
        body = {"amount": {"currency_code": "USD", "value": "1.00"}}
        first = await api.post(path, body, PayPal_Request_Id="refund-1")
        second = await api.post(path, body, PayPal_Request_Id="refund-1")
        assert (first.status_code, second.status_code) == (201, 200)
        assert second.json()["id"] == first.json()["id"]
        assert (await api.sandbox.state())["refunds"] == 1


class TestFaultInjection:
    async def test_next_requests_fail_then_recover(self, api: Api) -> None:
        await api.sandbox.control(action="fail", path="/v2/checkout/orders", status=500, count=2)
        answers = [
            (await api.post("/v2/checkout/orders", order_body())).status_code for _ in range(3)
        ]
        assert answers == [500, 500, 201]
        assert (await api.sandbox.state())["orders"] == 1

    async def test_rate_limit_carries_retry_after(self, api: Api) -> None:
        await api.sandbox.control(
            action="fail", path="/v2/checkout/orders/*", status=429, retry_after="2"
        )
        response = await api.get("/v2/checkout/orders/ANY")
        assert response.status_code == 429
        assert response.json()["name"] == "RATE_LIMIT_REACHED"
        assert response.headers["Retry-After"] == "2"

    async def test_method_filter_spares_other_methods(self, api: Api) -> None:
        await api.sandbox.control(action="fail", path="/v2/checkout/orders", method="GET")
        response = await api.post("/v2/checkout/orders", order_body())
        assert response.status_code == 201
        assert len((await api.sandbox.state())["faults"]) == 1

    async def test_delay_answers_after_acting(self, api: Api) -> None:
        await api.sandbox.control(action="delay", path="/v2/checkout/orders", seconds=0.5)
        with pytest.raises(httpx.ReadTimeout):
            await api.sandbox.http.post(
                f"{api.sandbox.url}/v2/checkout/orders",
                json=order_body(),
                headers=api.headers,
                timeout=httpx.Timeout(5, read=0.1),
            )
        assert (await api.sandbox.state())["orders"] == 1

    async def test_requests_are_counted_per_endpoint(self, api: Api) -> None:
        await api.post("/v2/checkout/orders", order_body())
        await api.get("/v2/checkout/orders/NOSUCH")
        state = await api.sandbox.state()
        assert state["requests"]["POST /v2/checkout/orders"] == 1
        assert state["requests"]["GET /v2/checkout/orders/{id}"] == 1
        assert state["request_count"] == 3  # including the token request

    async def test_unknown_action_is_400(self, paypal_sandbox: SandboxHandle) -> None:
        response = await paypal_sandbox.http.post(
            f"{paypal_sandbox.url}/_control", json={"action": "explode"}
        )
        assert response.status_code == 400


def verify_offline(delivery_headers: dict[str, str], body: bytes, cert_pem: bytes) -> bool:
    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    message = (
        f"{delivery_headers['paypal-transmission-id']}|"
        f"{delivery_headers['paypal-transmission-time']}|{WEBHOOK_ID}|{zlib.crc32(body)}"
    ).encode()
    try:
        key.verify(
            base64.b64decode(delivery_headers["paypal-transmission-sig"]),
            message,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except Exception:
        return False
    return True


def verify_request(delivery_headers: dict[str, str], event: dict[str, Any]) -> dict[str, Any]:
    return {
        "auth_algo": delivery_headers["paypal-auth-algo"],
        "cert_url": delivery_headers["paypal-cert-url"],
        "transmission_id": delivery_headers["paypal-transmission-id"],
        "transmission_sig": delivery_headers["paypal-transmission-sig"],
        "transmission_time": delivery_headers["paypal-transmission-time"],
        "webhook_id": WEBHOOK_ID,
        "webhook_event": event,
    }


class TestWebhooks:
    async def test_approval_is_delivered_signed(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        order_id = await api.approved_order()
        await wait_for(lambda: len(paypal_webhook_receiver.deliveries) == 1)
        delivery = paypal_webhook_receiver.deliveries[0]
        event = json.loads(delivery.body)
        cert = await api.sandbox.http.get(delivery.headers["paypal-cert-url"])
        assert event["event_type"] == "CHECKOUT.ORDER.APPROVED"
        assert re.fullmatch(r"WH-[A-Z0-9]{17}-[A-Z0-9]{17}", event["id"])
        assert event["resource_type"] == "checkout-order"
        assert event["resource"]["id"] == order_id
        assert delivery.headers["paypal-auth-algo"] == "SHA256withRSA"
        assert delivery.headers["paypal-cert-url"].startswith(api.sandbox.url)
        assert verify_offline(delivery.headers, delivery.body, cert.content)

    async def test_capture_and_refund_events_are_emitted(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        capture = await api.captured()
        await api.post(f"/v2/payments/captures/{capture['id']}/refund")
        await wait_for(lambda: len(paypal_webhook_receiver.deliveries) == 4)
        types = sorted(json.loads(d.body)["event_type"] for d in paypal_webhook_receiver.deliveries)
        assert types == [
            "CHECKOUT.ORDER.APPROVED",
            "CHECKOUT.ORDER.COMPLETED",
            "PAYMENT.CAPTURE.COMPLETED",
            "PAYMENT.CAPTURE.REFUNDED",
        ]
        refunded = json.loads(paypal_webhook_receiver.of_type("PAYMENT.CAPTURE.REFUNDED")[0].body)
        assert refunded["resource_type"] == "refund"

    async def test_verify_endpoint_says_success_for_a_real_delivery(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        await api.approved_order()
        await wait_for(lambda: len(paypal_webhook_receiver.deliveries) == 1)
        delivery = paypal_webhook_receiver.deliveries[0]
        response = await api.post(
            "/v1/notifications/verify-webhook-signature",
            verify_request(delivery.headers, json.loads(delivery.body)),
        )
        assert response.json() == {"verification_status": "SUCCESS"}

    async def test_verify_endpoint_says_failure_for_a_changed_event(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        await api.approved_order()
        await wait_for(lambda: len(paypal_webhook_receiver.deliveries) == 1)
        delivery = paypal_webhook_receiver.deliveries[0]
        event = json.loads(delivery.body)
        event["resource"]["id"] = "SOMEOTHERORDER"
        response = await api.post(
            "/v1/notifications/verify-webhook-signature", verify_request(delivery.headers, event)
        )
        assert response.json() == {"verification_status": "FAILURE"}

    async def test_verify_endpoint_says_failure_for_another_webhook_id(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        await api.approved_order()
        await wait_for(lambda: len(paypal_webhook_receiver.deliveries) == 1)
        delivery = paypal_webhook_receiver.deliveries[0]
        body = verify_request(delivery.headers, json.loads(delivery.body))
        body["webhook_id"] = "SOMEONEELSE"
        response = await api.post("/v1/notifications/verify-webhook-signature", body)
        assert response.json() == {"verification_status": "FAILURE"}

    async def test_verify_endpoint_requires_every_field(self, api: Api) -> None:
        response = await api.post("/v1/notifications/verify-webhook-signature", {"auth_algo": "x"})
        assert response.status_code == 400
        assert response.json()["name"] == "VALIDATION_ERROR"

    async def test_non_2xx_is_retried_until_delivered(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        paypal_webhook_receiver.fail_next = 3
        await api.approved_order()
        await wait_for(lambda: len(paypal_webhook_receiver.deliveries) == 1)
        attempts = (await api.sandbox.state())["webhooks"]["deliveries"]
        assert paypal_webhook_receiver.answered_500 == 3
        assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
        assert [a["outcome"] for a in attempts] == ["failed"] * 3 + ["delivered"]

    async def test_dropped_event_is_never_sent(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        await api.sandbox.control(action="webhooks", drop=1)
        await api.approved_order()
        await api.approved_order()
        await wait_for(lambda: len(paypal_webhook_receiver.deliveries) == 1)
        state = await api.sandbox.state()
        assert state["webhooks"]["emitted"] == 2
        assert state["webhooks"]["deliveries"][0]["outcome"] == "dropped"

    async def test_duplicated_event_arrives_twice_with_one_id(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        await api.sandbox.control(action="webhooks", duplicate=1)
        await api.approved_order()
        await wait_for(lambda: len(paypal_webhook_receiver.deliveries) == 2)
        ids = {json.loads(d.body)["id"] for d in paypal_webhook_receiver.deliveries}
        transmissions = {
            d.headers["paypal-transmission-id"] for d in paypal_webhook_receiver.deliveries
        }
        assert len(ids) == 1
        assert len(transmissions) == 2

    async def test_reordered_events_arrive_newest_first(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        await api.sandbox.control(action="webhooks", reorder=2)
        capture = await api.captured()  # APPROVED, then CAPTURE.COMPLETED (+ ORDER.COMPLETED)
        await wait_for(lambda: len(paypal_webhook_receiver.deliveries) == 3)
        types = [json.loads(d.body)["event_type"] for d in paypal_webhook_receiver.deliveries]
        assert types.index("PAYMENT.CAPTURE.COMPLETED") < types.index("CHECKOUT.ORDER.APPROVED")
        assert capture["status"] == "COMPLETED"

    async def test_no_webhook_url_sends_nothing(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        await api.sandbox.control(action="webhooks", url=None)
        await api.approved_order()
        state = await api.sandbox.state()
        assert state["webhooks"]["emitted"] == 1
        assert state["webhooks"]["deliveries"] == []
        assert paypal_webhook_receiver.deliveries == []

    async def test_pending_capture_settles_with_an_event(
        self, api: Api, paypal_webhook_receiver: WebhookReceiver
    ) -> None:
        await api.sandbox.control(action="capture_outcome", outcome="PENDING", count=1)
        capture = await api.captured()
        await api.sandbox.control(
            action="settle_capture", capture_id=capture["id"], outcome="DENIED"
        )
        await wait_for(lambda: len(paypal_webhook_receiver.of_type("PAYMENT.CAPTURE.DENIED")) == 1)
        after = (await api.get(f"/v2/payments/captures/{capture['id']}")).json()
        assert after["status"] == "DECLINED"


class TestPublicBaseUrl:
    async def test_configured_public_base_url_is_used_in_links(self) -> None:
        public = "https://payments.example/sandbox/paypal"
        app = create_paypal_sandbox(
            PayPalSandboxConfig(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                webhook_id=WEBHOOK_ID,
                public_base_url=public,
            )
        )
        with serve_app(Starlette(routes=[Mount("/sandbox/paypal", app=app)])) as url:
            async with httpx.AsyncClient() as http:
                sandbox = SandboxHandle(url + "/sandbox/paypal", http)
                api = Api(sandbox, await sandbox.token())
                order = (await api.post("/v2/checkout/orders", order_body())).json()
        hrefs = {link["rel"]: link["href"] for link in order["links"]}
        assert hrefs["payer-action"] == f"{public}/checkoutnow?token={order['id']}"
        assert hrefs["self"] == f"{public}/v2/checkout/orders/{order['id']}"

    def test_inr_merchant_currency_is_refused(self) -> None:
        with pytest.raises(ValueError, match="INR"):
            PayPalSandboxConfig(
                client_id="a",
                client_secret="b",
                webhook_id="c",
                merchant_currencies=frozenset({"USD", "INR"}),
            )

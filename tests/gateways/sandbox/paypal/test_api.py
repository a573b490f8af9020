"""The PayPal sandbox's REST API over real HTTP, checked against PayPal's documented behaviour."""

from __future__ import annotations

import json

import pytest

from tests.gateways.paypal_fixtures import CLIENT_ID, CLIENT_SECRET, SandboxHandle
from tests.gateways.sandbox.paypal.conftest import ID_RE, Api, issue_of, order_body


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

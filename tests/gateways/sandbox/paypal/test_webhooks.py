"""The PayPal sandbox's webhooks: signed deliveries, the verify endpoint, retries and the
drop/duplicate/reorder knobs."""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.gateways.paypal_fixtures import WEBHOOK_ID, WebhookReceiver, wait_for
from tests.gateways.sandbox.paypal.conftest import Api


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

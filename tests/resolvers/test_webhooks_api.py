"""Webhooks over real HTTP from the sandboxes, through the inbox and a real arq worker."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from cryptography.fernet import Fernet

from models.enums import PaymentStatus, WebhookEventStatus
from models.payment import Payment
from models.webhook_event import WebhookEvent
from tests.resolvers.test_payments_api import order_id, pay_and_verify
from tests.support.checkout import FAILING_CARD, Shopper
from tests.support.webhooks import eventually, razorpay_envelope, razorpay_signature

RAZORPAY = "/api/webhooks/razorpay"


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    await client.post("/sandbox/paypal/_control", json={"action": "reset"})
    return Shopper(client, tokens.mint("cust-wh"))


async def payment_status(payment_id: str) -> PaymentStatus | None:
    payment = await Payment.get(payment_id)
    return payment.status if payment else None


async def completed(payment_id: str) -> bool:
    return await payment_status(payment_id) is PaymentStatus.COMPLETED


def distinct_event_ids(payment: Payment) -> bool:
    ids = [e.gateway_event_id for e in payment.timeline if e.gateway_event_id]
    return len(ids) == len(set(ids))


class TestWebhookAlone:
    async def test_razorpay_payment_completes_without_verify(self, shopper, worker):
        initiated = await shopper.initiate(orderId=order_id())
        await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])
        pid = initiated["payment"]["id"]
        await eventually(lambda: completed(pid))
        payment = await Payment.get(pid)
        assert {e.source.value for e in payment.timeline[2:]} == {"WEBHOOK"}
        assert distinct_event_ids(payment)

        async def rows_done() -> list[WebhookEvent]:
            # Each row is marked processed just after its effect is written.
            rows = await WebhookEvent.find_all().to_list()
            done = all(
                r.status in (WebhookEventStatus.PROCESSED, WebhookEventStatus.IGNORED) for r in rows
            )
            return rows if rows and done else []

        rows = await eventually(rows_done)
        assert any(r.payment_id == payment.id for r in rows)

    async def test_razorpay_auto_captured_payment(self, client, shopper, worker):
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "auto_capture": True}
        )
        initiated = await shopper.initiate(orderId=order_id())
        await shopper.pay_razorpay(
            initiated["checkout"]["gatewayOrderId"], method="upi", vpa="success@razorpay"
        )
        await eventually(lambda: completed(initiated["payment"]["id"]))

    async def test_failed_payment_is_recorded(self, shopper, worker):
        initiated = await shopper.initiate(orderId=order_id())
        await shopper.pay_razorpay(
            initiated["checkout"]["gatewayOrderId"], card_number=FAILING_CARD
        )
        pid = initiated["payment"]["id"]
        await eventually(lambda: _failed_once(pid))
        payment = await Payment.get(pid)
        assert payment.error_code

    async def test_paypal_approval_completes_without_verify(self, shopper, worker):
        initiated = await shopper.initiate(
            orderId=order_id(), amount="12.00", currency="USD", paymentMethod="PAYPAL"
        )
        await shopper.approve_paypal(initiated["checkout"]["approveUrl"])
        await eventually(lambda: completed(initiated["payment"]["id"]))

    async def test_event_before_our_write_is_retried_then_fails_when_never_found(
        self, client, settings, worker
    ):
        body = razorpay_envelope(
            "payment.captured",
            payment={"id": "pay_Unknown0000001", "entity": "payment", "amount": 100, "currency": "INR",
                     "status": "captured", "order_id": "order_Unknown00001", "method": "card", "captured": True},
        )  # fmt: skip
        response = await client.post(
            RAZORPAY, content=body, headers=_signed(settings, body, "evt_unknown_1")
        )
        assert response.status_code == 200
        row = await eventually(
            lambda: WebhookEvent.find_one(
                {"gateway_event_id": "evt_unknown_1", "attempts": {"$gte": 1}}
            )
        )
        assert row.status is WebhookEventStatus.RECEIVED
        assert "not found yet" in row.last_error

    async def test_unknown_event_types_are_stored_and_ignored(self, client, settings, worker):
        body = razorpay_envelope("virtual_account.created", virtual_account={"id": "va_1"})
        response = await client.post(
            RAZORPAY, content=body, headers=_signed(settings, body, "evt_va_1")
        )
        assert response.status_code == 200
        row = await eventually(
            lambda: WebhookEvent.find_one({"gateway_event_id": "evt_va_1", "status": "IGNORED"})
        )
        assert row.event_type == "virtual_account.created"


async def _failed_once(pid: str) -> bool:
    payment = await Payment.get(pid)
    return payment.status is PaymentStatus.FAILED and payment.attempt_count == 1


def _signed(settings, body: bytes, event_id: str, secret: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": razorpay_signature(
            secret or settings.razorpay_webhook_secret, body
        ),
        "X-Razorpay-Event-Id": event_id,
    }


async def captured_entity(client, settings, gateway_payment_id: str) -> dict:
    response = await client.get(
        f"/sandbox/razorpay/v1/payments/{gateway_payment_id}",
        auth=(settings.razorpay_key_id, settings.razorpay_key_secret),
    )
    return response.json()


class TestDuplicates:
    async def test_every_webhook_delivered_twice_has_one_effect(self, client, shopper, worker):
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "duplicate_webhooks": True}
        )
        initiated = await shopper.initiate(orderId=order_id())
        await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])
        pid = initiated["payment"]["id"]
        await eventually(lambda: completed(pid))

        async def all_delivered() -> list[dict]:
            state = (await client.get("/sandbox/razorpay/_control")).json()
            done = state["deliveries"]
            return done if done and all(d["delivered"] for d in done) else []

        deliveries = await eventually(all_delivered)
        assert len(deliveries) >= 4 and len(deliveries) == 2 * len(
            {d["event_id"] for d in deliveries}
        )
        await eventually(lambda: _all_processed(len(deliveries) // 2))
        payment = await Payment.get(pid)
        assert distinct_event_ids(payment)
        assert [e.to_status for e in payment.timeline].count(PaymentStatus.COMPLETED) == 1

    async def test_twenty_concurrent_copies_of_one_event_have_one_effect(
        self, client, settings, shopper, worker
    ):
        initiated = await shopper.initiate(orderId=order_id())
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "webhooks": "drop"}
        )
        paid = await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"])
        entity = await captured_entity(client, settings, paid["razorpay_payment_id"])
        await client.post(
            f"/sandbox/razorpay/v1/payments/{entity['id']}/capture",
            json={"amount": entity["amount"], "currency": "INR"},
            auth=(settings.razorpay_key_id, settings.razorpay_key_secret),
        )
        entity = await captured_entity(client, settings, paid["razorpay_payment_id"])
        body = razorpay_envelope("payment.captured", payment=entity)
        headers = _signed(settings, body, "evt_concurrent_1")
        answers = await asyncio.gather(
            *(client.post(RAZORPAY, content=body, headers=headers) for _ in range(20))
        )
        assert {a.status_code for a in answers} == {200}
        assert sorted(a.json()["result"] for a in answers).count("new") == 1
        pid = initiated["payment"]["id"]
        await eventually(lambda: completed(pid))
        payment = await Payment.get(pid)
        entries = [e for e in payment.timeline if e.gateway_event_id == "evt_concurrent_1"]
        assert len(entries) == 1
        assert await WebhookEvent.find({"gateway_event_id": "evt_concurrent_1"}).count() == 1


async def _all_processed(count: int) -> bool:
    rows = await WebhookEvent.find({"status": {"$in": ["PROCESSED", "IGNORED"]}}).count()
    return rows >= count


class TestSignatures:
    async def _body(self) -> bytes:
        return razorpay_envelope("payment.failed", payment={"id": "pay_X", "order_id": "order_X", "amount": 100,
                                                            "currency": "INR", "status": "failed"})  # fmt: skip

    async def test_tampered_body_gets_401_and_stores_nothing(self, client, settings, mongo_db):
        body = await self._body()
        headers = _signed(settings, body, "evt_t1")
        response = await client.post(
            RAZORPAY, content=body.replace(b"100", b"999"), headers=headers
        )
        assert response.status_code == 401
        assert await WebhookEvent.find_all().count() == 0

    async def test_wrong_secret_gets_401(self, client, settings, mongo_db):
        body = await self._body()
        response = await client.post(
            RAZORPAY, content=body, headers=_signed(settings, body, "evt_t2", "wrong-secret")
        )
        assert response.status_code == 401
        assert await WebhookEvent.find_all().count() == 0

    async def test_missing_signature_gets_401(self, client, mongo_db):
        body = await self._body()
        response = await client.post(
            RAZORPAY, content=body, headers={"X-Razorpay-Event-Id": "evt_t3"}
        )
        assert response.status_code == 401
        assert await WebhookEvent.find_all().count() == 0

    async def test_malformed_body_gets_400(self, client, settings, mongo_db):
        body = b"{not json"
        response = await client.post(
            RAZORPAY, content=body, headers=_signed(settings, body, "evt_t4")
        )
        assert response.status_code == 400
        assert await WebhookEvent.find_all().count() == 0

    async def test_body_over_one_megabyte_gets_413(self, client, settings, mongo_db):
        body = b'{"pad":"' + b"x" * (1024 * 1024) + b'"}'
        response = await client.post(
            RAZORPAY, content=body, headers=_signed(settings, body, "evt_t5")
        )
        assert response.status_code == 413

    async def test_signed_body_replayed_under_a_new_event_id_has_no_further_effect(
        self, client, settings, shopper, worker
    ):
        initiated = await shopper.initiate(orderId=order_id())
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "webhooks": "drop"}
        )
        failed = await shopper.pay_razorpay(
            initiated["checkout"]["gatewayOrderId"], card_number=FAILING_CARD
        )
        entity = await captured_entity(client, settings, failed["error"]["metadata"]["payment_id"])
        body = razorpay_envelope("payment.failed", payment=entity)
        pid = initiated["payment"]["id"]
        assert (
            await client.post(RAZORPAY, content=body, headers=_signed(settings, body, "evt_r1"))
        ).status_code == 200
        await eventually(lambda: _failed_once(pid))
        replayed = await client.post(
            RAZORPAY, content=body, headers=_signed(settings, body, "evt_r2")
        )
        assert replayed.status_code == 200 and replayed.json()["result"] == "new"
        await eventually(
            lambda: WebhookEvent.find_one({"gateway_event_id": "evt_r2", "status": "PROCESSED"})
        )
        payment = await Payment.get(pid)
        assert payment.attempt_count == 1


class TestDisabledEndpoint:
    async def test_unset_secret_answers_404(self, settings, _mongo_database):
        from app import create_app
        from settings import AppEnv
        from tests.support.server import serve

        production = settings.model_copy(
            update={
                "app_env": AppEnv.PRODUCTION,
                "razorpay_webhook_secret": None,
                "paypal_webhook_id": None,
                "encryption_keys": Fernet.generate_key().decode(),
            }
        )
        async with (
            serve(create_app(production)) as running,
            httpx.AsyncClient(base_url=running.url) as http,
        ):
            razorpay = await http.post(RAZORPAY, content=b"{}")
            paypal = await http.post("/api/webhooks/paypal", content=b"{}")
        assert razorpay.status_code == 404 and paypal.status_code == 404


class TestAdmin:
    async def test_list_and_replay(self, client, tokens, settings, shopper, worker):
        initiated = await shopper.initiate(orderId=order_id())
        await pay_and_verify(shopper, initiated)
        # All three of a card payment's events (authorized, captured, order paid) processed.
        await eventually(lambda: _all_processed(3))
        admin = {"Authorization": f"Bearer {tokens.mint('ops', admin=True)}"}
        listing = await client.post(
            "/graphql",
            json={
                "query": "{ webhookEvents(gateway: RAZORPAY, first: 10) { edges { node { id eventType status gatewayEventId } } } }"
            },
            headers=admin,
        )
        edges = listing.json()["data"]["webhookEvents"]["edges"]
        assert edges and {e["node"]["status"] for e in edges} <= {"PROCESSED", "IGNORED"}
        replay = await client.post(
            "/graphql",
            json={
                "query": "mutation($id: ID!) { replayWebhookEvent(id: $id) { __typename ... on WebhookEventSuccess { event { id status } } } }",
                "variables": {"id": edges[0]["node"]["id"]},
            },
            headers=admin,
        )
        assert replay.json()["data"]["replayWebhookEvent"]["__typename"] == "WebhookEventSuccess"
        event_id = edges[0]["node"]["gatewayEventId"]
        await eventually(
            lambda: WebhookEvent.find_one(
                {
                    "gateway_event_id": event_id,
                    "status": {"$in": ["PROCESSED", "IGNORED"]},
                    "attempts": {"$gte": 2},
                }
            )
        )
        customer = await client.post(
            "/graphql",
            json={"query": "{ webhookEvents { edges { node { id } } } }"},
            headers={"Authorization": f"Bearer {shopper.token}"},
        )
        assert customer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class TestReferenceMustAgreeWithOrder:
    async def test_a_reference_pointing_at_another_payment_is_not_trusted(
        self, client, settings, shopper, worker
    ):
        """Notes can be set by whoever opens Checkout: an event for order O1 whose notes name
        payment P2 completes P1 (by its order), never P2."""
        one = await shopper.initiate(orderId=order_id(), amount="500.00")
        two = await shopper.initiate(orderId=order_id(), amount="500.00")
        await client.post(
            "/sandbox/razorpay/_control", json={"action": "configure", "webhooks": "drop"}
        )
        paid = await shopper.pay_razorpay(one["checkout"]["gatewayOrderId"])
        entity = await captured_entity(client, settings, paid["razorpay_payment_id"])
        entity["notes"] = {"paygraph_reference": two["payment"]["id"]}
        body = razorpay_envelope("payment.captured", payment=entity)
        response = await client.post(
            RAZORPAY, content=body, headers=_signed(settings, body, "evt_ref_1")
        )
        assert response.status_code == 200
        await eventually(lambda: completed(one["payment"]["id"]))
        assert await payment_status(two["payment"]["id"]) is PaymentStatus.INITIATED


class TestPayPalDeclinedCapture:
    async def test_approval_with_a_declined_capture_records_a_failed_attempt(
        self, client, shopper, worker
    ):
        initiated = await shopper.initiate(
            orderId=order_id(), amount="12.00", currency="USD", paymentMethod="PAYPAL"
        )
        await client.post(
            "/sandbox/paypal/_control", json={"action": "capture_outcome", "outcome": "DECLINED"}
        )
        try:
            await shopper.approve_paypal(initiated["checkout"]["approveUrl"])

            async def failed_once() -> bool:
                payment = await Payment.get(initiated["payment"]["id"])
                return payment.status is PaymentStatus.FAILED and payment.attempt_count == 1

            await eventually(failed_once)
        finally:
            await client.post("/sandbox/paypal/_control", json={"action": "reset"})

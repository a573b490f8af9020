"""What the webhook inbox keeps of a gateway's payload: no token, no personal data in clear
(services/redaction.py), checked on the gateways' own payload shapes and through the inbox
after a real payment; processed payloads are pruned after the retention period, rows stay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.clock import utcnow
from models.enums import Gateway, WebhookEventStatus
from models.webhook_event import NormalizedEvent, WebhookEvent
from services.redaction import REDACTED, redact_payload
from tests.resolvers.test_payments_api import order_id
from tests.support.checkout import Shopper
from tests.support.webhooks import eventually

RAZORPAY_CAPTURED = {
    "entity": "event",
    "account_id": "acc_BFQ7uQEaa7j2z7",
    "event": "payment.captured",
    "payload": {
        "payment": {
            "entity": {
                "id": "pay_DESlfW9H8K9uqM",
                "amount": 100,
                "currency": "INR",
                "status": "captured",
                "order_id": "order_DESlLckIVRkHWj",
                "method": "card",
                "card_id": "card_DESlfX6V8yPFHL",
                "card": {
                    "id": "card_DESlfX6V8yPFHL",
                    "entity": "card",
                    "name": "Gaurav Kumar",
                    "last4": "1007",
                    "network": "Visa",
                    "type": "credit",
                    "issuer": "HDFC",
                    "international": False,
                    "emi": False,
                    "token_iin": "410028",
                },
                "vpa": None,
                "email": "gaurav.kumar@example.com",
                "contact": "+919000090000",
                "token_id": "token_4lsdksD31GaZ09",
                "notes": {"payment_id": "6b0d7b156c17d9aaa3434aea", "memo": "4100 2800 0000 1007"},
            }
        }
    },
}

PAYPAL_COMPLETED = {
    "id": "WH-2WR32451HC0233532-67976317FL4543714",
    "event_type": "PAYMENT.CAPTURE.COMPLETED",
    "resource": {
        "id": "42311647XV020574X",
        "amount": {"currency_code": "USD", "value": "20.00"},
        "status": "COMPLETED",
        "payer": {
            "name": {"given_name": "John", "surname": "Doe"},
            "email_address": "buyer@example.com",
            "payer_id": "QYR5Z8XDVJNXQ",
        },
        "shipping": {
            "name": {"full_name": "John Doe"},
            "address": {
                "address_line_1": "1 Main St",
                "postal_code": "95131",
                "country_code": "US",
            },
        },
    },
}


class TestRedactPayload:
    def test_razorpay_keeps_the_money_and_drops_the_person(self):
        entity = redact_payload(RAZORPAY_CAPTURED)["payload"]["payment"]["entity"]
        assert (entity["id"], entity["amount"], entity["status"], entity["order_id"]) == (
            "pay_DESlfW9H8K9uqM", 100, "captured", "order_DESlLckIVRkHWj",
        )  # fmt: skip
        assert entity["email"] == entity["contact"] == entity["token_id"] == REDACTED
        assert entity["card_id"] == REDACTED
        assert entity["card"] == {
            "entity": "card", "last4": "1007", "network": "Visa", "type": "credit",
            "issuer": "HDFC", "international": False, "emi": False,
        }  # fmt: skip
        assert entity["vpa"] is None  # nothing to hide: left as the gateway sent it
        assert entity["notes"]["payment_id"] == "6b0d7b156c17d9aaa3434aea"
        assert "1007" not in entity["notes"]["memo"] and REDACTED in entity["notes"]["memo"]

    def test_paypal_payer_and_shipping(self):
        resource = redact_payload(PAYPAL_COMPLETED)["resource"]
        assert resource["amount"] == {"currency_code": "USD", "value": "20.00"}
        assert resource["payer"] == {
            "name": REDACTED,  # the whole object
            "email_address": REDACTED,
            "payer_id": REDACTED,
        }
        assert resource["shipping"]["name"] == REDACTED
        assert resource["shipping"]["address"] == {
            "address_line_1": REDACTED, "postal_code": REDACTED, "country_code": "US",
        }  # fmt: skip

    def test_the_input_is_not_changed(self):
        before = repr(RAZORPAY_CAPTURED)
        redact_payload(RAZORPAY_CAPTURED)
        assert repr(RAZORPAY_CAPTURED) == before


class TestInbox:
    async def test_a_upi_payments_webhooks_are_stored_redacted(self, client, tokens, worker):
        await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
        shopper = Shopper(client, tokens.mint("cust-redact"))
        initiated = await shopper.initiate(
            orderId=order_id(), paymentMethod="UPI", vpa="success@razorpay"
        )
        await shopper.pay_razorpay(
            initiated["checkout"]["gatewayOrderId"], method="upi", vpa="success@razorpay"
        )

        async def stored() -> list[WebhookEvent]:
            rows = await WebhookEvent.find({"event_type": "payment.captured"}).to_list()
            return rows or None  # type: ignore[return-value]

        rows = await eventually(stored)
        text = repr([row.payload for row in rows])
        assert "success@razorpay" not in text
        entity = rows[0].payload["payload"]["payment"]["entity"]  # type: ignore[index]
        assert entity["vpa"] == REDACTED and entity["method"] == "upi"


async def _row(event_id: str, status: WebhookEventStatus, days_ago: float) -> WebhookEvent:
    row = WebhookEvent(
        gateway=Gateway.RAZORPAY,
        gateway_event_id=event_id,
        event_type="payment.captured",
        payload={"event": "payment.captured"},
        event=NormalizedEvent(kind="PAYMENT_CAPTURED"),
        status=status,
        received_at=utcnow() - timedelta(days=days_ago),
    )
    await row.insert()
    return row


class TestPruning:
    @pytest.mark.parametrize(
        ("status", "days_ago", "pruned"),
        [
            (WebhookEventStatus.PROCESSED, 31, True),
            (WebhookEventStatus.IGNORED, 31, True),
            (WebhookEventStatus.PROCESSED, 29, False),  # still within the retention
            (WebhookEventStatus.RECEIVED, 31, False),  # not processed yet: still needed
            (WebhookEventStatus.FAILED, 31, False),  # an operator may replay it
        ],
    )
    async def test_processed_payloads_older_than_the_retention_go(
        self, core, mongo_db, status, days_ago, pruned
    ):
        row = await _row("evt_prune", status, days_ago)
        assert await core.inbox.prune_payloads() == int(pruned)
        after = await WebhookEvent.get(row.id)
        assert after is not None  # the row always stays
        assert (after.payload is None) is pruned
        assert (after.payload_pruned_at is not None) is pruned
        assert (after.gateway_event_id, after.status) == ("evt_prune", status)

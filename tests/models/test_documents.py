from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from beanie import Document, PydanticObjectId
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from models import (
    DOCUMENT_MODELS,
    CheckoutParams,
    ClientMetadata,
    Gateway,
    Money,
    PanNotAccepted,
    Payment,
    PaymentEvent,
    PaymentMethodType,
    PaymentStatus,
    ReconciliationFinding,
    ReconciliationReport,
    ReconciliationTrigger,
    Refund,
    RefundReason,
    RefundStatus,
    SavedPaymentMethod,
    TimelineEntry,
    TransitionSource,
    WebhookEvent,
    WebhookEventStatus,
    utcnow,
)
from models.webhook_event import NormalizedEvent

# Beanie documents cannot even be constructed before init_beanie, so every test here needs it.
pytestmark = pytest.mark.usefixtures("mongo_db")

FERNET_LIKE = "gAAAAABmZ2V0dGluZy1zdGFydGVkLXdpdGgtYS1mZXJuZXQtdG9rZW4tZm9yLXRlc3Rz"


def make_payment(**overrides: Any) -> Payment:
    fields: dict[str, Any] = {
        "order_id": "ORDER-001",
        "customer_id": "CUST-001",
        "amount": Money(amount_minor=100_050, currency="INR"),
        "method_type": PaymentMethodType.CARD,
        "gateway": Gateway.RAZORPAY,
        "request_fingerprint": "fp-1",
        "expires_at": utcnow() + timedelta(hours=1),
    }
    fields.update(overrides)
    return Payment(**fields)


def make_refund(payment_id: PydanticObjectId, **overrides: Any) -> Refund:
    fields: dict[str, Any] = {
        "payment_id": payment_id,
        "order_id": "ORDER-001",
        "customer_id": "CUST-001",
        "amount": Money(amount_minor=500, currency="INR"),
        "reason": RefundReason.CUSTOMER_REQUEST,
        "gateway": Gateway.RAZORPAY,
        "gateway_payment_id": "pay_0000000001",
        "request_fingerprint": "rfp-1",
        "idempotency_key": f"key-{uuid.uuid4()}",
    }
    fields.update(overrides)
    return Refund(**fields)


def make_saved_method(**overrides: Any) -> SavedPaymentMethod:
    fields: dict[str, Any] = {
        "customer_id": "CUST-001",
        "gateway": Gateway.RAZORPAY,
        "method_type": PaymentMethodType.CARD,
        "token_ciphertext": FERNET_LIKE,
        "token_fingerprint": "a" * 64,
        "last4": "1111",
        "network": "Visa",
        "expiry_month": 12,
        "expiry_year": 2030,
        "label": "Visa ending 1111",
    }
    fields.update(overrides)
    return SavedPaymentMethod(**fields)


# Declared indexes, written out as data: (collection, name) -> (keys, options).
EXPECTED_INDEXES: dict[tuple[str, str], tuple[list[tuple[str, int]], dict[str, Any]]] = {
    ("payment_orders", "customer_order_unique"): (
        [("customer_id", 1), ("order_id", 1)], {"unique": True}),
    ("payment_orders", "customer_created"): ([("customer_id", 1), ("created_at", -1)], {}),
    ("payment_orders", "gateway_order_id"): ([("gateway_order_id", 1)], {}),
    ("payment_orders", "gateway_payment_id"): ([("gateway_payment_id", 1)], {"sparse": True}),
    ("payment_orders", "status_updated"): ([("status", 1), ("updated_at", 1)], {}),
    ("payment_orders", "expires_at"): ([("expires_at", 1)], {}),
    ("refunds", "payment_id"): ([("payment_id", 1)], {}),
    ("refunds", "payment_idempotency_key_unique"): (
        [("payment_id", 1), ("idempotency_key", 1)],
        {"unique": True, "partialFilterExpression": {"idempotency_key": {"$type": "string"}}},
    ),
    ("refunds", "gateway_refund_unique"): (
        [("gateway", 1), ("gateway_refund_id", 1)],
        {"unique": True, "partialFilterExpression": {"gateway_refund_id": {"$type": "string"}}}),
    ("refunds", "status_updated"): ([("status", 1), ("updated_at", 1)], {}),
    ("saved_payment_methods", "customer_default"): (
        [("customer_id", 1), ("is_default", -1)], {}),
    ("saved_payment_methods", "gateway_token_fingerprint_unique"): (
        [("gateway", 1), ("token_fingerprint", 1)], {"unique": True}),
    ("webhook_events", "gateway_event_unique"): (
        [("gateway", 1), ("gateway_event_id", 1)], {"unique": True}),
    ("webhook_events", "gateway_received"): ([("gateway", 1), ("received_at", -1)], {}),
    ("webhook_events", "status_received"): ([("status", 1), ("received_at", 1)], {}),
    ("reconciliation_reports", "started_at"): ([("started_at", -1)], {}),
    ("failed_jobs", "failed_at"): ([("failed_at", -1)], {}),
    # The outbox of each document that writes events: entries not relayed yet.
    ("payment_orders", "outbox_pending"): ([("outbox.timestamp", 1)], {"partialFilterExpression": {"outbox.timestamp": {"$exists": True}}}),
    ("refunds", "outbox_pending"): ([("outbox.timestamp", 1)], {"partialFilterExpression": {"outbox.timestamp": {"$exists": True}}}),
    ("reconciliation_reports", "outbox_pending"): ([("outbox.timestamp", 1)], {"partialFilterExpression": {"outbox.timestamp": {"$exists": True}}}),
    ("events", "type_id"): ([("type", 1), ("_id", -1)], {}),
    ("events", "resource_id"): ([("resource_id", 1)], {}),
    ("webhook_endpoints", "enabled"): ([("enabled", 1)], {}),
    ("webhook_deliveries", "endpoint_id"): ([("endpoint_id", 1), ("_id", -1)], {}),
    ("webhook_deliveries", "due"): ([("status", 1), ("next_attempt_at", 1)], {}),
    ("webhook_deliveries", "event_id"): ([("event_id", 1)], {}),
    ("gateway_customers", "gateway_customer_unique"): (
        [("gateway", 1), ("customer_id", 1)], {"unique": True}),
}  # fmt: skip

OPTION_KEYS = ("unique", "sparse", "partialFilterExpression", "expireAfterSeconds")


def _plain(value: Any) -> Any:
    """SON and nested mappings to plain dicts, for comparison."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


async def _indexes(db: AsyncDatabase[Any], collection: str) -> dict[str, dict[str, Any]]:
    cursor = await db[collection].list_indexes()
    return {ix["name"]: dict(ix) async for ix in cursor}


class TestCollections:
    def test_document_models(self) -> None:
        assert [m.Settings.name for m in DOCUMENT_MODELS] == [  # type: ignore[attr-defined]
            "payment_orders",
            "refunds",
            "saved_payment_methods",
            "webhook_events",
            "reconciliation_reports",
            "failed_jobs",
            "gateway_customers",
            "events",
            "webhook_endpoints",
            "webhook_deliveries",
        ]


class TestIndexes:
    async def test_declared_indexes_exist(self, mongo_db: AsyncDatabase[Any]) -> None:
        for (collection, name), (keys, options) in EXPECTED_INDEXES.items():
            found = (await _indexes(mongo_db, collection)).get(name)
            assert found is not None, f"{collection}.{name} missing"
            assert list(found["key"].items()) == keys, name
            actual_options = {k: _plain(found[k]) for k in OPTION_KEYS if k in found}
            assert actual_options == options, name

    async def test_no_undeclared_indexes(self, mongo_db: AsyncDatabase[Any]) -> None:
        for model in DOCUMENT_MODELS:
            collection = model.get_collection_name()
            names = set(await _indexes(mongo_db, collection)) - {"_id_"}
            assert names == {n for c, n in EXPECTED_INDEXES if c == collection}

    async def test_no_ttl_index_anywhere(self, mongo_db: AsyncDatabase[Any]) -> None:
        for model in DOCUMENT_MODELS:
            for name, index in (await _indexes(mongo_db, model.get_collection_name())).items():
                assert "expireAfterSeconds" not in index, f"TTL index {name} would delete records"

    @pytest.mark.parametrize("model", DOCUMENT_MODELS)
    def test_no_ttl_declared(self, model: type[Document]) -> None:
        for index in model.Settings.indexes:  # type: ignore[attr-defined]
            assert "expireAfterSeconds" not in index.document


class TestPaymentUniqueness:
    async def test_same_customer_and_order_is_refused(self, mongo_db: AsyncDatabase[Any]) -> None:
        await make_payment().insert()
        with pytest.raises(DuplicateKeyError):
            await make_payment(request_fingerprint="fp-2").insert()

    async def test_same_order_for_another_customer_is_allowed(
        self, mongo_db: AsyncDatabase[Any]
    ) -> None:
        await make_payment().insert()
        await make_payment(customer_id="CUST-002").insert()
        assert await Payment.find(Payment.order_id == "ORDER-001").count() == 2


class TestPaymentStorage:
    async def test_money_is_stored_as_integers(self, mongo_db: AsyncDatabase[Any]) -> None:
        payment = await make_payment(refunded_minor=50, refund_committed_minor=80).insert()
        raw = await mongo_db["payment_orders"].find_one({"_id": payment.id})
        assert raw is not None
        assert raw["amount"] == {"amount_minor": 100_050, "currency": "INR"}
        assert type(raw["amount"]["amount_minor"]) is int
        assert (raw["refunded_minor"], raw["refund_committed_minor"]) == (50, 80)
        assert type(raw["refund_committed_minor"]) is int

    async def test_round_trip(self, mongo_db: AsyncDatabase[Any]) -> None:
        payment = make_payment(
            metadata=ClientMetadata(ip="203.0.113.7", user_agent="pytest"),
            notes={"sku": "A1"},
            checkout=CheckoutParams(
                gateway=Gateway.RAZORPAY,
                key_id="rzp_test_x",
                gateway_order_id="order_1",
                amount_minor=100_050,
                currency="INR",
            ),
        )
        await payment.insert()
        loaded = await Payment.get(payment.id)
        assert loaded is not None
        assert loaded.amount == Money(amount_minor=100_050, currency="INR")
        assert loaded.amount.to_decimal_string() == "1000.50"
        assert loaded.status is PaymentStatus.PENDING
        assert loaded.gateway is Gateway.RAZORPAY
        assert loaded.checkout == payment.checkout
        assert loaded.metadata.ip == "203.0.113.7"
        assert loaded.notes == {"sku": "A1"}

    async def test_datetimes_read_back_as_utc(self, mongo_db: AsyncDatabase[Any]) -> None:
        payment = await make_payment().insert()
        loaded = await Payment.get(payment.id)
        assert loaded is not None
        for value in (loaded.created_at, loaded.updated_at, loaded.expires_at):
            assert value.tzinfo is not None
            assert value.utcoffset() == timedelta(0)
        assert loaded.created_at == payment.created_at
        assert loaded.expires_at == payment.expires_at

    async def test_timeline_appends(self, mongo_db: AsyncDatabase[Any]) -> None:
        payment = await make_payment().insert()
        entry = TimelineEntry(
            from_status=PaymentStatus.PENDING,
            to_status=PaymentStatus.INITIATED,
            event=PaymentEvent.ORDER_CREATED,
            source=TransitionSource.API,
        )
        second = TimelineEntry(
            from_status=PaymentStatus.INITIATED,
            to_status=PaymentStatus.COMPLETED,
            event=PaymentEvent.CAPTURED,
            source=TransitionSource.WEBHOOK,
            gateway_event_id="evt_1",
        )
        for current, new, item in (
            (PaymentStatus.PENDING, PaymentStatus.INITIATED, entry),
            (PaymentStatus.INITIATED, PaymentStatus.COMPLETED, second),
        ):
            # The services' compare-and-set shape: match the status we decided on.
            result = await Payment.find_one(
                Payment.id == payment.id, Payment.status == current
            ).update(
                {
                    "$set": {Payment.status: new, Payment.updated_at: utcnow()},
                    "$inc": {Payment.version: 1},
                    "$push": {Payment.timeline: item},
                }
            )
            assert result is not None and result.modified_count == 1
        loaded = await Payment.get(payment.id)
        assert loaded is not None
        assert loaded.status is PaymentStatus.COMPLETED
        assert loaded.version == 2
        assert loaded.timeline == [entry, second]
        assert loaded.timeline[1].source is TransitionSource.WEBHOOK

    async def test_lost_race_matches_nothing(self, mongo_db: AsyncDatabase[Any]) -> None:
        payment = await make_payment(status=PaymentStatus.COMPLETED).insert()
        result = await Payment.find_one(
            Payment.id == payment.id, Payment.status == PaymentStatus.INITIATED
        ).update({"$set": {Payment.status: PaymentStatus.FAILED}})
        assert result is not None and result.modified_count == 0

    def test_refund_arithmetic(self) -> None:
        payment = make_payment(
            captured_minor=100_050, refunded_minor=50, refund_committed_minor=1_050
        )
        assert payment.refunded_amount == Money(amount_minor=50, currency="INR")
        assert payment.refund_reserved_minor == 1_000
        assert payment.refundable_minor == 100_050 - 50 - 1_000
        assert payment.refundable_amount.currency == "INR"
        assert payment.net_minor == 100_050 - 50

    def test_nothing_is_refundable_before_a_capture(self) -> None:
        payment = make_payment()  # the order's amount is not money taken
        assert (payment.captured_minor, payment.refundable_minor) == (0, 0)

    def test_amount_must_be_money(self) -> None:
        with pytest.raises(ValidationError):
            make_payment(amount=1000.50)

    def test_negative_refunded_refused(self) -> None:
        with pytest.raises(ValidationError):
            make_payment(refunded_minor=-1)

    def test_refunded_beyond_the_commitments_refused(self) -> None:
        # committed counts what is refunded: less committed than refunded is a broken record
        with pytest.raises(ValidationError, match="refund_committed_minor"):
            make_payment(refunded_minor=500, refund_committed_minor=400)

    def test_naive_datetime_is_taken_as_utc(self) -> None:
        payment = make_payment(expires_at=datetime(2030, 1, 1, 12, 0))
        assert payment.expires_at == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class TestRefundStorage:
    async def test_idempotency_key_is_unique_per_payment(
        self, mongo_db: AsyncDatabase[Any]
    ) -> None:
        payment_id = PydanticObjectId()
        await make_refund(payment_id, idempotency_key="key-1").insert()
        with pytest.raises(DuplicateKeyError):
            await make_refund(payment_id, idempotency_key="key-1").insert()

    async def test_same_key_on_another_payment_is_allowed(
        self, mongo_db: AsyncDatabase[Any]
    ) -> None:
        await make_refund(PydanticObjectId(), idempotency_key="key-1").insert()
        await make_refund(PydanticObjectId(), idempotency_key="key-1").insert()

    async def test_distinct_keys_on_one_payment_are_distinct_refunds(
        self, mongo_db: AsyncDatabase[Any]
    ) -> None:
        payment_id = PydanticObjectId()
        await make_refund(payment_id).insert()
        await make_refund(payment_id).insert()
        assert await Refund.find(Refund.payment_id == payment_id).count() == 2

    @pytest.mark.parametrize("key", [None, "", "k" * 129])
    def test_a_refund_needs_a_key_of_1_to_128_characters(self, key: str | None) -> None:
        with pytest.raises(ValidationError):
            make_refund(PydanticObjectId(), idempotency_key=key)

    async def test_round_trip(self, mongo_db: AsyncDatabase[Any]) -> None:
        refund = await make_refund(PydanticObjectId(), status=RefundStatus.PROCESSING).insert()
        loaded = await Refund.get(refund.id)
        assert loaded is not None
        assert loaded.payment_id == refund.payment_id
        assert loaded.amount == Money(amount_minor=500, currency="INR")
        assert loaded.status is RefundStatus.PROCESSING
        raw = await mongo_db["refunds"].find_one({"_id": refund.id})
        assert raw is not None and type(raw["amount"]["amount_minor"]) is int


class TestSavedMethod:
    async def test_token_fingerprint_is_unique_per_gateway(
        self, mongo_db: AsyncDatabase[Any]
    ) -> None:
        await make_saved_method().insert()
        with pytest.raises(DuplicateKeyError):
            await make_saved_method(customer_id="CUST-002").insert()
        await make_saved_method(
            gateway=Gateway.PAYPAL, method_type=PaymentMethodType.PAYPAL
        ).insert()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("last4", "4111111111111111"),
            ("last4", "4111 1111 1111 1111"),
            ("label", "My card 4111-1111-1111-1111"),
            ("label", "5500005555555559"),
            ("network", "378282246310005"),
            ("vpa_masked", "4111111111111111@okhdfc"),
        ],
    )
    def test_card_number_is_refused(self, field: str, value: str) -> None:
        with pytest.raises(PanNotAccepted) as caught:
            make_saved_method(**{field: value})
        assert caught.value.field == field
        assert value not in caught.value.message

    @pytest.mark.parametrize("last4", ["123", "12345", "12a4", "", " 1234"])
    def test_last4_is_exactly_four_digits(self, last4: str) -> None:
        with pytest.raises(ValidationError):
            make_saved_method(last4=last4)

    def test_short_digit_runs_are_fine(self) -> None:
        method = make_saved_method(label="UPI 9876543210", vpa_masked="98******10@upi")
        assert method.label == "UPI 9876543210"

    def test_plaintext_token_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            make_saved_method(token_ciphertext="token_1234")

    @pytest.mark.parametrize(
        ("expiry", "now", "expired"),
        [
            ((3, 2027), datetime(2027, 3, 31, 23, 59, tzinfo=UTC), False),  # good through March
            ((3, 2027), datetime(2027, 4, 1, tzinfo=UTC), True),
            ((12, 2026), datetime(2027, 1, 1, tzinfo=UTC), True),  # across the year
            ((12, 2026), datetime(2026, 11, 30, tzinfo=UTC), False),
            ((None, None), datetime(2099, 1, 1, tzinfo=UTC), False),  # a UPI ID has none
        ],
    )
    def test_a_card_expires_after_its_expiry_month(
        self, expiry: tuple[int | None, int | None], now: datetime, expired: bool
    ) -> None:
        month, year = expiry
        method = make_saved_method(expiry_month=month, expiry_year=year)
        assert method.expired(now) is expired

    async def test_validation_on_save(self, mongo_db: AsyncDatabase[Any]) -> None:
        method = await make_saved_method().insert()
        method.label = "4111111111111111"  # assignment is not validated; save is
        with pytest.raises(PanNotAccepted):
            await method.save()


class TestWebhookInbox:
    async def test_event_id_is_unique_per_gateway(self, mongo_db: AsyncDatabase[Any]) -> None:
        event = {"gateway": Gateway.RAZORPAY, "gateway_event_id": "evt_1",
                 "event_type": "payment.captured", "payload": {"a": {"b": [1, 2]}},
                 "event": NormalizedEvent(kind="PAYMENT_CAPTURED")}  # fmt: skip
        await WebhookEvent(**event).insert()
        with pytest.raises(DuplicateKeyError):
            await WebhookEvent(**event).insert()
        await WebhookEvent(**{**event, "gateway": Gateway.PAYPAL}).insert()

    async def test_payload_round_trips(self, mongo_db: AsyncDatabase[Any]) -> None:
        payload = {"event": "payment.captured", "payload": {"payment": {"entity": {"amount": 100}}}}
        stored = await WebhookEvent(
            gateway=Gateway.RAZORPAY,
            gateway_event_id="evt_2",
            event_type="payment.captured",
            payload=payload,
            event=NormalizedEvent(kind="PAYMENT_CAPTURED", payment_id="pay_1", amount_minor=100),
        ).insert()
        loaded = await WebhookEvent.get(stored.id)
        assert loaded is not None
        assert loaded.payload == payload
        assert loaded.status is WebhookEventStatus.RECEIVED
        assert loaded.attempts == 0


class TestReconciliationReport:
    async def test_round_trip(self, mongo_db: AsyncDatabase[Any]) -> None:
        finding = ReconciliationFinding(
            kind="STATUS_DRIFT",
            payment_id=PydanticObjectId(),
            gateway=Gateway.RAZORPAY,
            detail="gateway captured, we had INITIATED",
            expected="COMPLETED",
            actual="INITIATED",
        )
        report = await ReconciliationReport(
            trigger=ReconciliationTrigger.CRON,
            dry_run=True,
            checked_payments=3,
            mismatches=[finding],
            errors=["razorpay: timeout"],
        ).insert()
        loaded = await ReconciliationReport.get(report.id)
        assert loaded is not None
        assert loaded.mismatches == [finding]
        assert loaded.trigger is ReconciliationTrigger.CRON
        assert loaded.started_at.tzinfo is not None

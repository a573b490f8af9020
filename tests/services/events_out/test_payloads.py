"""The events' JSON: GraphQL field names (held to schema.graphql), one event per told change,
and docs/events.md listing exactly the catalog with examples shaped as the code builds them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType, build_schema

from models.enums import PaymentStatus, RefundStatus
from models.events_out import EventType
from services.events_out import payment_changed, refund_changed
from services.events_out.payloads import finding_data, money_data, payment_data, refund_data
from tests.services.events_out import samples

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = build_schema((ROOT / "schema.graphql").read_text())


def fields_of(type_name: str) -> set[str]:
    graphql_type = SCHEMA.type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return set(graphql_type.fields)


class TestGraphQLFieldNames:
    def test_payment(self):
        data = payment_data(samples.payment())
        assert set(data) <= fields_of("Payment")
        # Left out on purpose: lists that grow, and the browser's checkout parameters.
        assert fields_of("Payment") - set(data) == {"timeline", "refunds", "checkout"}

    def test_refund(self):
        assert set(refund_data(samples.refund())) == fields_of("Refund")

    def test_money(self):
        assert set(money_data(samples.payment().amount)) == fields_of("Money")

    def test_reconciliation_finding(self):
        finding = samples.report().mismatches[0]
        assert set(finding_data(finding)) == fields_of("ReconciliationFinding")

    def test_enums_are_the_schema_values(self):
        data = payment_data(samples.payment())
        assert data["status"] in SCHEMA.type_map["PaymentStatus"].values
        assert data["gateway"] in SCHEMA.type_map["Gateway"].values
        assert data["methodType"] in SCHEMA.type_map["PaymentMethodType"].values


class TestWhichChangesAreTold:
    @pytest.mark.parametrize("status", list(PaymentStatus))
    def test_a_payment_entering_a_status(self, status):
        entries = payment_changed(samples.payment(status), PaymentStatus.PENDING, samples.AT)
        if status is PaymentStatus.PENDING:
            assert entries == []
        else:
            assert [e.type.value for e in entries] == [f"payment.{status.value.lower()}"]
            assert entries[0].version == 3 and entries[0].timestamp == samples.AT

    def test_a_write_that_leaves_the_status_tells_nothing(self):
        completed = samples.payment(PaymentStatus.COMPLETED)
        assert payment_changed(completed, PaymentStatus.COMPLETED, samples.AT) == []

    def test_every_further_partial_refund_is_told(self):
        partial = samples.payment(PaymentStatus.PARTIALLY_REFUNDED)
        entries = payment_changed(partial, PaymentStatus.PARTIALLY_REFUNDED, samples.AT)
        assert [e.type for e in entries] == [EventType.PAYMENT_PARTIALLY_REFUNDED]

    @pytest.mark.parametrize("status", list(RefundStatus))
    def test_a_refund_entering_a_status(self, status):
        entries = refund_changed(samples.refund(status), samples.payment(), samples.AT)
        expected = {
            RefundStatus.PENDING: ["refund.created"],
            RefundStatus.PROCESSING: [],
            RefundStatus.COMPLETED: ["refund.completed"],
            RefundStatus.FAILED: ["refund.failed"],
        }[status]
        assert [e.type.value for e in entries] == expected

    def test_ids_are_unique_and_sortable(self):
        ids = [samples.entry_of(EventType.PAYMENT_COMPLETED).id for _ in range(200)]
        assert len(set(ids)) == 200
        assert all(re.fullmatch(r"evt_[0-9A-HJKMNP-TV-Z]{26}", i) for i in ids)


def documented_examples() -> dict[str, dict[str, Any]]:
    text = (ROOT / "docs" / "events.md").read_text()
    sections = re.findall(r"^### (\S+)\n.*?```json\n(.*?)\n```", text, re.MULTILINE | re.DOTALL)
    return {name: json.loads(example) for name, example in sections}


class TestTheDocument:
    def test_it_lists_exactly_the_catalog(self):
        assert sorted(documented_examples()) == sorted(t.value for t in EventType)

    @pytest.mark.parametrize("event_type", list(EventType))
    def test_each_example_has_the_keys_the_code_produces(self, event_type):
        documented = documented_examples()[event_type.value]
        produced = samples.entry_of(event_type).body()
        assert documented["type"] == event_type.value
        assert _keys(documented) == _keys(produced)


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _keys(item) for key, item in value.items()}
    return None

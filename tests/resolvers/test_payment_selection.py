"""`payment(id)` reads only what its selection shows (resolvers/payments_query.py `_READS`):
each Payment field asked for alone answers exactly what it answers beside every other field,
on the standard path and on the prepared one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema

from models.payment import Payment
from resolvers import graphql_schema
from resolvers.payments_query import _READS
from tests.support.checkout import Shopper, pay_razorpay


def selection(schema: GraphQLSchema, type_name: str) -> dict[str, str]:
    """Every field of an object type, each with the whole selection below it."""
    kind = schema.type_map[type_name]
    assert isinstance(kind, GraphQLObjectType)
    fields = {}
    for name, field in kind.fields.items():
        inner = field.type
        while isinstance(inner, GraphQLNonNull | GraphQLList):
            inner = inner.of_type
        if isinstance(inner, GraphQLObjectType):
            fields[name] = f"{name} {{ {' '.join(selection(schema, inner.name).values())} }}"
        else:
            fields[name] = name
    return fields


SCHEMA = graphql_schema()._schema
PAYMENT_FIELDS = selection(SCHEMA, "Payment")


def test_every_payment_field_says_what_it_reads():
    assert set(PAYMENT_FIELDS) | {"__typename"} == set(_READS)


@pytest.fixture
async def shown(client: httpx.AsyncClient, tokens: Any) -> tuple[Shopper, str]:
    """A completed payment whose fields are not their defaults: refunded in part, with an
    error left from an earlier attempt."""
    shopper = Shopper(client, tokens.mint("cust-sel"))
    initiated = await shopper.initiate(orderId="ORD-SEL-1")
    paid = await pay_razorpay(client, initiated["checkout"]["gatewayOrderId"])
    await shopper.verify(
        paymentId=initiated["payment"]["id"],
        gatewayPaymentId=paid["razorpay_payment_id"],
        signature=paid["razorpay_signature"],
    )
    from beanie import PydanticObjectId

    await Payment.get_pymongo_collection().update_one(
        {"_id": PydanticObjectId(initiated["payment"]["id"])},
        {
            "$set": {
                "refunded_minor": 100,
                "refund_committed_minor": 100,
                "error_code": "BAD_REQUEST_ERROR",
                "error_message": "an earlier attempt",
            }
        },
    )
    return shopper, initiated["payment"]["id"]


async def test_each_field_alone_answers_what_it_answers_beside_the_others(shown):
    shopper, payment_id = shown
    query = "query($id: ID!) { payment(id: $id) { %s } }"
    whole = (await shopper.graphql(query % " ".join(PAYMENT_FIELDS.values()), {"id": payment_id}))[
        "payment"
    ]
    assert whole["status"] == "COMPLETED" and whole["version"] > 0
    assert whole["refundedAmount"]["minor"] == 100 and whole["capturedAmount"]["minor"] > 0
    assert whole["checkout"] is not None and len(whole["timeline"]) >= 3
    assert whole["errorCode"] == "BAD_REQUEST_ERROR"
    for name, fields in PAYMENT_FIELDS.items():
        for _ in range(2):  # the standard path, then the prepared one
            alone = (await shopper.graphql(query % fields, {"id": payment_id}))["payment"]
            assert alone == {name: whole[name]}, name

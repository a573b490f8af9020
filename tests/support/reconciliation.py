"""Helpers for reconciliation tests: a shopper whose webhooks are all lost (so only
reconciliation can learn what happened), sandbox controls, and records aged by rewriting their
times in MongoDB."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from core import build_gateways
from gateways.policy import CallPolicy
from models.clock import utcnow
from models.enums import PaymentStatus
from models.payment import Payment
from models.refund import Refund
from services.reconciliation import ReconciliationPolicy, ReconciliationService
from tests.resolvers.test_payments_api import order_id
from tests.support.checkout import Shopper


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    await client.post("/sandbox/paypal/_control", json={"action": "reset"})
    # Every webhook lost: only reconciliation can learn what happened.
    await razorpay(client, action="configure", webhooks="drop", auto_capture=True)
    await paypal(client, action="webhooks", drop=1000)
    return Shopper(client, tokens.mint("cust-recon"))


async def razorpay(client, **action: Any) -> dict:
    response = await client.post("/sandbox/razorpay/_control", json=action)
    assert response.status_code == 200, response.text
    return response.json()


async def paypal(client, **action: Any) -> dict:
    response = await client.post("/sandbox/paypal/_control", json=action)
    assert response.status_code == 200, response.text
    return response.json()


def gateway_auth(settings) -> tuple[str, str]:
    return (settings.razorpay_key_id, settings.razorpay_key_secret)


async def age(payment_id: str, minutes: float) -> None:
    """As if the payment was created (and last changed) `minutes` ago."""
    then = utcnow() - timedelta(minutes=minutes)
    await Payment.get_pymongo_collection().update_one(
        {"_id": ObjectId(payment_id)},
        {
            "$set": {
                "created_at": then,
                "updated_at": then,
                "expires_at": then + timedelta(minutes=60),
            }
        },
    )


async def age_refund(refund_id: str, minutes: float) -> None:
    then = utcnow() - timedelta(minutes=minutes)
    await Refund.get_pymongo_collection().update_one(
        {"_id": ObjectId(refund_id)}, {"$set": {"created_at": then, "updated_at": then}}
    )


async def paid_without_verify(shopper: Shopper, **pay: Any) -> tuple[str, dict]:
    initiated = await shopper.initiate(orderId=order_id())
    paid = await shopper.pay_razorpay(initiated["checkout"]["gatewayOrderId"], **pay)
    return initiated["payment"]["id"], paid


async def verified(shopper: Shopper) -> tuple[str, str]:
    """A payment paid and verified (COMPLETED here), and its gateway payment id."""
    pid, paid = await paid_without_verify(shopper)
    answer = await shopper.verify(
        paymentId=pid,
        gatewayPaymentId=paid["razorpay_payment_id"],
        signature=paid["razorpay_signature"],
    )
    assert answer["payment"]["status"] == "COMPLETED"
    return pid, paid["razorpay_payment_id"]


@contextlib.asynccontextmanager
async def reading_through(
    core: Any, policy: CallPolicy, **wiring: Any
) -> AsyncIterator[ReconciliationService]:
    """A ReconciliationService on the core's services, one gateway call at a time, through
    gateways of their own under `policy` (a short backoff, a single try ...)."""
    gateways = build_gateways(core.settings, serve_sandboxes=False, policy=policy)
    try:
        yield ReconciliationService(
            core.payments,
            core.refunds,
            gateways.registry,
            core.redis,
            ReconciliationPolicy(concurrency=1),
            **wiring,
        )
    finally:
        await gateways.registry.aclose()


async def status(payment_id: str) -> PaymentStatus:
    found = await Payment.get(payment_id)
    assert found is not None
    return found.status


async def snapshot(mongo_db) -> dict[str, list[dict]]:
    return {
        name: await mongo_db[name].find({}).sort("_id", 1).to_list(None)
        for name in sorted(await mongo_db.list_collection_names())
    }

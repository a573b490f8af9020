"""Refund events from real flows: the sandbox gateway, the app over HTTP, an arq worker, and
a receiver that verifies every delivery with the standardwebhooks library."""

from __future__ import annotations

import pytest

from tests.resolvers.test_refunds_api import completed_payment, refund, settled_payment

pytestmark = pytest.mark.usefixtures("worker")


class TestRefundEvents:
    async def test_a_partial_then_a_full_refund_tell_every_change(
        self, shopper, admin, receiver, endpoint
    ):
        pid = await completed_payment(shopper)
        first = await refund(admin, paymentId=pid, amount="300.00")
        await settled_payment(pid, 30000)
        await refund(admin, paymentId=pid)
        await settled_payment(pid, 100000)
        arrivals = await receiver.wait_for(8)
        assert all(a.verified is not None for a in arrivals)
        by_type: dict[str, list[dict]] = {}
        for arrival in arrivals:
            by_type.setdefault(arrival.verified["type"], []).append(arrival.verified["data"])
        assert sorted(by_type) == [
            "payment.completed",
            "payment.initiated",
            "payment.partially_refunded",
            "payment.refunded",
            "refund.completed",
            "refund.created",
        ]
        assert len(by_type["refund.created"]) == len(by_type["refund.completed"]) == 2
        created = next(
            d for d in by_type["refund.created"] if d["refund"]["id"] == first["refund"]["id"]
        )
        assert created["refund"]["status"] == "PENDING"
        assert created["refund"]["amount"] == {
            "amount": "300.00",
            "currency": "INR",
            "minor": 30000,
        }
        assert created["payment"]["id"] == pid
        partial = by_type["payment.partially_refunded"][0]["payment"]
        assert partial["refundedAmount"]["minor"] == 30000
        full = by_type["payment.refunded"][0]["payment"]
        assert (full["status"], full["refundedAmount"]["minor"]) == ("REFUNDED", 100000)
        assert full["version"] > partial["version"]
        assert len(set(receiver.delivered_ids())) == 8

"""The buyer's approval page and its approve/cancel actions."""

from __future__ import annotations

import re

from tests.gateways.sandbox.paypal.conftest import Api, order_body


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

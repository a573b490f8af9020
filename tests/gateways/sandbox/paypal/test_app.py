"""The app's links follow a configured public base URL; the config refuses INR."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from gateways.sandbox.paypal import PayPalSandboxConfig, create_paypal_sandbox
from tests.gateways.paypal_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    WEBHOOK_ID,
    SandboxHandle,
    serve_app,
)
from tests.gateways.sandbox.paypal.conftest import Api, order_body


class TestPublicBaseUrl:
    async def test_configured_public_base_url_is_used_in_links(self) -> None:
        public = "https://payments.example/sandbox/paypal"
        app = create_paypal_sandbox(
            PayPalSandboxConfig(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                webhook_id=WEBHOOK_ID,
                public_base_url=public,
            )
        )
        with serve_app(Starlette(routes=[Mount("/sandbox/paypal", app=app)])) as url:
            async with httpx.AsyncClient() as http:
                sandbox = SandboxHandle(url + "/sandbox/paypal", http)
                api = Api(sandbox, await sandbox.token())
                order = (await api.post("/v2/checkout/orders", order_body())).json()
        hrefs = {link["rel"]: link["href"] for link in order["links"]}
        assert hrefs["payer-action"] == f"{public}/checkoutnow?token={order['id']}"
        assert hrefs["self"] == f"{public}/v2/checkout/orders/{order['id']}"

    def test_inr_merchant_currency_is_refused(self) -> None:
        with pytest.raises(ValueError, match="INR"):
            PayPalSandboxConfig(
                client_id="a",
                client_secret="b",
                webhook_id="c",
                merchant_currencies=frozenset({"USD", "INR"}),
            )

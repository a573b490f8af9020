"""The demo's admin Events panel in headless Chromium: an endpoint registered through GraphQL
at a loopback receiver, a card payment through the demo, then (as an admin) the payment's
`payment.completed` event, the endpoint's delivery answered 200, and a redelivery's new attempt.
The demo worker relays and delivers events; the receiver verifies each signature."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.demo.conftest import DESKTOP, BrowserThread
from tests.demo.test_checkout_page import VISA, choose, expect, expect_success, open_demo, pay_card
from tests.support.receiver import Receiver, running_receiver

CREATE_ENDPOINT = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    __typename
    ... on WebhookEndpointSecretSuccess { endpoint { id url } secret }
  }
}"""


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


async def register_endpoint(base_url: str, receiver: Receiver) -> dict[str, Any]:
    """createWebhookEndpoint with an admin's development token, as a shop's setup would."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        minted = await http.post("/demo/token", json={"customerId": "ops-setup", "admin": True})
        token = minted.raise_for_status().json()["token"]
        variables = {"input": {"url": receiver.url, "events": [], "description": "demo shop"}}
        answer = await http.post(
            "/graphql",
            json={"query": CREATE_ENDPOINT, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    created: dict[str, Any] = answer.raise_for_status().json()["data"]["createWebhookEndpoint"]
    assert created["__typename"] == "WebhookEndpointSecretSuccess", created
    receiver.secrets.append(created["secret"])
    endpoint: dict[str, Any] = created["endpoint"]
    return endpoint


class TestAdminEvents:
    async def test_events_panel_shows_the_delivery_and_redelivers_it(
        self, browser: BrowserThread, demo, demo_worker, receiver: Receiver
    ):
        endpoint = await register_endpoint(demo.url, receiver)

        def flow() -> str:
            with browser.page(demo.url, "admin-events", DESKTOP) as (page, _console):
                open_demo(page, customer="events-demo")
                expect(page.get_by_role("region", name="Events", exact=True)).to_be_hidden()
                choose(page, re.compile(r"^Card"))
                pay_card(page, VISA)
                expect_success(page)
                payment_id = page.locator("#live-payment-id").inner_text()

                open_demo_admin(page)
                panel = page.get_by_role("region", name="Events", exact=True)
                expect(panel).to_be_visible()
                expect(page.get_by_role("heading", name="Payment successful")).to_be_visible()

                completed = (
                    panel.get_by_role("region", name="Recent events")
                    .get_by_role("row")
                    .filter(has_text="payment.completed")
                    .filter(has_text=payment_id)
                )
                expect(completed).to_have_count(1)
                event_id = completed.get_by_role("cell").nth(1).inner_text()
                assert event_id.startswith("evt_"), event_id

                chosen = panel.get_by_role("radio", name=endpoint["url"])
                expect(chosen).to_be_checked()
                listed = panel.get_by_role("listitem").filter(has_text=endpoint["url"])
                expect(listed).to_contain_text("enabled")
                delivery = (
                    panel.get_by_role("region", name=re.compile("^Deliveries to"))
                    .get_by_role("row")
                    .filter(has_text=event_id)
                )
                cells = delivery.get_by_role("cell")
                expect(cells.nth(1)).to_have_text("DELIVERED")
                expect(cells.nth(2)).to_have_text("1")
                expect(cells.nth(3)).to_have_text("200")

                completed.get_by_role(
                    "button", name=f"Redeliver payment.completed {event_id} to {endpoint['url']}"
                ).click()
                expect(cells.nth(2)).to_have_text("2")
                expect(cells.nth(1)).to_have_text("DELIVERED")
                expect(cells.nth(3)).to_have_text("200")
                expect(panel.get_by_role("status")).to_contain_text(
                    f"payment.completed {event_id}: DELIVERED, attempt 2, answered 200"
                )
                return event_id

        event_id = await browser.call(flow)
        arrivals = [a for a in receiver.delivered if a.headers["webhook-id"] == event_id]
        assert len(arrivals) == 2, receiver.types()
        assert all(a.verified and a.verified["type"] == "payment.completed" for a in arrivals)


def open_demo_admin(page: Any) -> None:
    """Tick Admin for the same customer: the page keeps the order and shows the admin panels."""
    page.get_by_label("Admin").set_checked(True)
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("status").filter(has_text="Signed in as")).to_contain_text("(admin)")

"""The checkout.js stand-in: served as static files, and driven in headless Chromium from a shop
page on another origin (a second loopback port) exactly as a shop's code drives Razorpay's."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.support.browser import BrowserThread, running_browser
from tests.support.server import serve_in_thread

try:
    from playwright.sync_api import expect
except ImportError:  # then the browser tests are skipped (tests/support/browser.py)
    expect = None

if TYPE_CHECKING:  # fixture types only
    from playwright.sync_api import FrameLocator, Page

    from tests.gateways.conftest import RazorpayCredentials, SandboxControl

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
VIEWPORT = {"width": 1000, "height": 900}
VISA = "4100 2800 0000 1007"
DECLINED = "4100 2800 0006 0003"
PAY = re.compile(r"^Pay ₹500\.00$")

# The shop: loads checkout.js from the sandbox's origin and records what its callbacks get.
SHOP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title><link rel="icon" href="data:,">
<script src="{sandbox}/v1/checkout.js"></script></head>
<body><h1>Shop</h1><button id="buy" type="button">Buy</button>
<script>
  window.events = [];
  let options = null;
  window.prepare = (o) => {{ options = o; }};
  document.getElementById("buy").addEventListener("click", () => {{
    const rzp = new Razorpay({{
      ...options,
      name: "Test shop",
      description: "Order 42",
      handler: (response) => events.push({{ type: "handler", response }}),
      modal: {{ ondismiss: () => events.push({{ type: "dismiss" }}) }},
    }});
    rzp.on("payment.failed", (response) => events.push({{ type: "failed", response }}));
    rzp.open();
  }});
</script></body></html>
"""


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[BrowserThread]:
    async with running_browser(SCREENSHOTS) as running:
        yield running


@pytest.fixture(scope="module")
def shop_url(razorpay_sandbox_url: str) -> Iterator[str]:
    async def page(request: Request) -> Response:
        return HTMLResponse(SHOP_PAGE.format(sandbox=razorpay_sandbox_url))

    with serve_in_thread(lambda _: Starlette(routes=[Route("/", page)]), name="shop") as url:
        yield url


class Checkout:
    """One shop page with the stand-in; every call runs in the browser thread."""

    def __init__(self, page: Page, http: httpx.Client, key_id: str) -> None:
        self.page = page
        self.http = http
        self.key_id = key_id

    def order(self, amount: int = 50_000, currency: str = "INR") -> str:
        answer = self.http.post("/v1/orders", json={"amount": amount, "currency": currency})
        assert answer.status_code == 200, answer.text
        order_id: str = answer.json()["id"]
        return order_id

    def open(self, order_id: str, **options: Any) -> FrameLocator:
        options = {"key": self.key_id, "amount": 50_000, "currency": "INR", **options}
        self.page.evaluate("o => prepare(o)", {"order_id": order_id, **options})
        self.page.get_by_role("button", name="Buy").click()
        return self.page.frame_locator("iframe[title='Payment details']")

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.page.evaluate("() => window.events")
        return events

    def wait_for_event(self, kind: str) -> dict[str, Any]:
        self.page.wait_for_function(
            "kind => window.events.some((e) => e.type === kind)", arg=kind, timeout=15_000
        )
        return next(e for e in self.events() if e["type"] == kind)


def pay_card(frame: FrameLocator, number: str) -> None:
    frame.get_by_label("Card number").fill(number)
    frame.get_by_label("Expiry").fill("12/30")
    frame.get_by_label("CVV").fill("123")
    frame.get_by_role("button", name=PAY).click()


@pytest.fixture
def checkout_flow(
    browser: BrowserThread,
    shop_url: str,
    razorpay_sandbox_url: str,
    razorpay_credentials: RazorpayCredentials,
    razorpay_control: SandboxControl,
) -> Any:
    """run(name, flow): flow(Checkout, console) in a fresh page of the shop, in the browser
    thread, with an HTTP client on the sandbox's API (the shop's server side)."""

    async def run(name: str, flow: Any) -> None:
        def in_browser() -> None:
            auth = (razorpay_credentials.key_id, razorpay_credentials.key_secret)
            with (
                httpx.Client(base_url=razorpay_sandbox_url, auth=auth, timeout=5) as http,
                browser.page(shop_url, name, VIEWPORT) as (page, console),
            ):
                page.goto("/")
                flow(Checkout(page, http, razorpay_credentials.key_id), console)

        await browser.call(in_browser)

    return run


def signature(secret: str, order_id: str, payment_id: str) -> str:
    return hmac.new(
        secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256
    ).hexdigest()


class TestServedFiles:
    async def test_the_script_is_javascript(self, razorpay_sandbox_url: str) -> None:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"{razorpay_sandbox_url}/v1/checkout.js")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
        assert "window.Razorpay = Razorpay" in answer.text

    async def test_the_payment_form_is_html_with_labelled_fields(
        self, razorpay_sandbox_url: str, razorpay_http: httpx.AsyncClient
    ) -> None:
        order = await razorpay_http.post("/v1/orders", json={"amount": 500, "currency": "INR"})
        async with httpx.AsyncClient(base_url=razorpay_sandbox_url) as http:
            page = await http.get(f"/checkout/{order.json()['id']}")
            script = await http.get("/static/frame.js")
            style = await http.get("/static/frame.css")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        for label in ("Card number", "Expiry", "CVV", "UPI ID", "Bank", "Wallet", "EMI tenure"):
            assert f">{label}</label>" in page.text
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert style.headers["content-type"] == "text/css; charset=utf-8"

    async def test_unknown_order_and_unknown_file_are_refused(
        self, razorpay_sandbox_url: str
    ) -> None:
        async with httpx.AsyncClient(base_url=razorpay_sandbox_url) as http:
            assert (await http.get("/checkout/order_NoSuchOrder0001")).status_code == 404
            assert (await http.get("/static/checkout.html")).status_code == 400


class TestCheckoutJs:
    async def test_a_card_payment_calls_the_handler_with_a_valid_signature(
        self, checkout_flow: Any, razorpay_credentials: RazorpayCredentials
    ) -> None:
        def flow(checkout: Checkout, _console: Any) -> None:
            order_id = checkout.order()
            frame = checkout.open(order_id)
            dialog = checkout.page.get_by_role(
                "dialog", name="Test shop · Razorpay Checkout (sandbox)"
            )
            expect(dialog).to_be_visible()
            expect(dialog).to_have_attribute("aria-modal", "true")
            expect(frame.get_by_label("Card number")).to_be_focused()
            pay_card(frame, VISA)
            response = checkout.wait_for_event("handler")["response"]
            assert set(response) == {
                "razorpay_payment_id",
                "razorpay_order_id",
                "razorpay_signature",
            }
            assert response["razorpay_order_id"] == order_id
            assert response["razorpay_signature"] == signature(
                razorpay_credentials.key_secret, order_id, response["razorpay_payment_id"]
            )
            expect(dialog).to_have_count(0)
            expect(checkout.page.get_by_role("button", name="Buy")).to_be_focused()

        await checkout_flow("checkout-js-card", flow)

    async def test_a_declined_card_fires_payment_failed_and_the_dialog_stays_for_a_retry(
        self, checkout_flow: Any
    ) -> None:
        def flow(checkout: Checkout, console: Any) -> None:
            console.expect_network_error(r"/checkout/order_\w+/pay$", 400)
            order_id = checkout.order()
            frame = checkout.open(order_id)
            pay_card(frame, DECLINED)
            error = checkout.wait_for_event("failed")["response"]["error"]
            assert error["code"] == "BAD_REQUEST_ERROR"
            assert error["reason"] == "card_declined"
            assert error["description"] == "The card was declined by the issuer."
            assert (error["source"], error["step"]) == ("issuer", "payment_authorization")
            assert error["metadata"]["order_id"] == order_id
            assert error["metadata"]["payment_id"].startswith("pay_")
            expect(frame.get_by_role("alert")).to_contain_text("Payment failed")
            expect(checkout.page.get_by_role("dialog")).to_be_visible()

            pay_card(frame, VISA)  # another try, in the same dialog
            response = checkout.wait_for_event("handler")["response"]
            assert response["razorpay_payment_id"] != error["metadata"]["payment_id"]

        await checkout_flow("checkout-js-declined", flow)

    async def test_upi_pays_with_the_success_vpa(self, checkout_flow: Any) -> None:
        def flow(checkout: Checkout, console: Any) -> None:
            console.expect_network_error(r"/checkout/order_\w+/pay$", 400)
            frame = checkout.open(checkout.order(), prefill={"method": "upi"})
            expect(frame.get_by_label("UPI ID")).to_be_focused()
            frame.get_by_label("UPI ID").fill("someone@okbank")
            frame.get_by_role("button", name=PAY).click()
            expect(frame.get_by_text("Invalid VPA")).to_be_visible()  # refused: no attempt
            frame.get_by_label("UPI ID").fill("success@razorpay")
            frame.get_by_label("UPI ID").press("Enter")
            assert checkout.wait_for_event("handler")["response"]["razorpay_payment_id"]
            assert [e["type"] for e in checkout.events()] == ["handler"]

        await checkout_flow("checkout-js-upi", flow)

    async def test_closing_calls_ondismiss_and_gives_focus_back(self, checkout_flow: Any) -> None:
        def flow(checkout: Checkout, _console: Any) -> None:
            order_id = checkout.order()
            frame = checkout.open(order_id)
            expect(frame.get_by_label("Card number")).to_be_focused()
            frame.get_by_label("Card number").press("Escape")
            checkout.wait_for_event("dismiss")
            expect(checkout.page.get_by_role("dialog")).to_have_count(0)
            expect(checkout.page.get_by_role("button", name="Buy")).to_be_focused()

            checkout.open(order_id)
            checkout.page.get_by_role("button", name="Close").click()
            expect(checkout.page.get_by_role("dialog")).to_have_count(0)
            assert [e["type"] for e in checkout.events()] == ["dismiss", "dismiss"]

        await checkout_flow("checkout-js-dismiss", flow)

    async def test_net_banking_ends_on_the_bank_page_limited_to_that_method(
        self, checkout_flow: Any
    ) -> None:
        def flow(checkout: Checkout, _console: Any) -> None:
            frame = checkout.open(checkout.order(), method="netbanking", prefill={"bank": "HDFC"})
            expect(frame.get_by_role("radio")).to_have_count(0)  # one method: no choice shown
            expect(frame.get_by_label("Bank", exact=True)).to_have_value("HDFC")
            frame.get_by_role("button", name=PAY).press("Enter")
            expect(frame.get_by_role("heading", name="HDFC Bank")).to_be_focused()
            frame.get_by_role("button", name="Success").click()
            assert checkout.wait_for_event("handler")["response"]["razorpay_signature"]

        await checkout_flow("checkout-js-netbanking", flow)

    async def test_a_saved_card_pays_without_card_input(self, checkout_flow: Any) -> None:
        def flow(checkout: Checkout, _console: Any) -> None:
            frame = checkout.open(checkout.order(), method={"card": True}, save=1)
            frame.get_by_label("Save this card").check()
            pay_card(frame, VISA)
            paid = checkout.wait_for_event("handler")["response"]["razorpay_payment_id"]
            token = checkout.http.get(f"/v1/payments/{paid}").json()["token_id"]
            assert token.startswith("token_")

            checkout.page.evaluate("() => { window.events = []; }")
            frame = checkout.open(
                checkout.order(),
                token=token,
                prefill={"card_last4": "1007", "card_network": "Visa"},
            )
            expect(frame.get_by_text("Pay with saved card Visa •••• 1007")).to_be_visible()
            expect(frame.get_by_label("Card number")).to_be_hidden()
            frame.get_by_role("button", name=PAY).click()
            again = checkout.wait_for_event("handler")["response"]["razorpay_payment_id"]
            assert checkout.http.get(f"/v1/payments/{again}").json()["token_id"] == token

        await checkout_flow("checkout-js-saved-card", flow)


class TestBrowserChecks:
    async def test_card_and_upi_checks(
        self,
        browser: BrowserThread,
        razorpay_sandbox_url: str,
        razorpay_http: httpx.AsyncClient,
        razorpay_control: SandboxControl,
    ) -> None:
        """checks.js, run in the browser itself: what the payment form refuses before sending."""
        order = await razorpay_http.post("/v1/orders", json={"amount": 500, "currency": "INR"})
        page_url = f"{razorpay_sandbox_url}/checkout/{order.json()['id']}"

        def flow() -> None:
            with browser.page(razorpay_sandbox_url, "checks", VIEWPORT) as (page, _console):
                page.goto(page_url)  # the form's own origin; unframed, it pays nothing
                results = page.evaluate(
                    """async () => {
                      const c = await import("../static/checks.js");
                      const today = new Date(2026, 10, 15);  // November 2026
                      const card = (number, expiry = "12/30", cvv = "123") =>
                        Object.keys(c.checkCard({ number, expiry, cvv }, today)).sort().join(",");
                      return {
                        visa: card("4100 2800 0000 1007"),
                        dashed: card("4100-2800-0000-1007"),
                        typo: card("4100 2800 0000 1008"),
                        short: card("4100 2800 007"),
                        letters: card("4100 2800 0000 10a7"),
                        amexNeeds4: card("3402 560004 01007", "12/30", "123"),
                        amexOk: card("3402 560004 01007", "12/30", "1234"),
                        thisMonth: card("4100280000001007", "11/26"),
                        lastMonth: card("4100280000001007", "10/26"),
                        month13: card("4100280000001007", "13/27"),
                        fourDigitYear: card("4100280000001007", "01/2027"),
                        empty: card("", "", ""),
                        upiOk: c.checkVpa("success@razorpay"),
                        upiBad: ["success", "a@b1", ""].map((v) => Boolean(c.checkVpa(v))),
                      };
                    }"""
                )
                assert results == {
                    "visa": "",
                    "dashed": "",
                    "typo": "number",
                    "short": "number",
                    "letters": "number",
                    "amexNeeds4": "cvv",
                    "amexOk": "",
                    "thisMonth": "",
                    "lastMonth": "expiry",
                    "month13": "expiry",
                    "fourDigitYear": "",
                    "empty": "cvv,expiry,number",
                    "upiOk": None,
                    "upiBad": [True, True, True],
                }
                expect(page.get_by_role("alert")).to_contain_text(
                    "Open this form through checkout.js"
                )

        await browser.call(flow)

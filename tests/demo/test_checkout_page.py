"""The checkout demo in headless Chromium against the real app and the sandbox gateways: card,
UPI failure then retry, PayPal in USD, a saved card on later orders, and an admin refund whose
status changes on screen. Razorpay payments go through the sandbox's checkout.js stand-in, whose
form is an iframe in its dialog (`checkout_frame`). Each flow runs in the browser thread (sync Playwright) while the test's
event loop serves the app; each saves a screenshot and fails on any browser console error."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.demo.conftest import DESKTOP, PHONE, SCREENSHOTS, BrowserThread

if TYPE_CHECKING:
    from playwright.sync_api import FrameLocator, Page

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs the dev extra"
).expect
expect.set_options(timeout=30_000)  # room for a busy CI machine; a passing run waits far less

VISA = "4100 2800 0000 1007"  # Razorpay test Visa: succeeds
MASTERCARD = "5500 6700 0000 1002"  # Razorpay test Mastercard: succeeds
README_SHOT = Path(__file__).resolve().parents[2] / "docs" / "checkout.png"

PAY = re.compile(r"^Pay ")


def open_demo(page: Page, *, customer: str | None = None, admin: bool = False) -> None:
    page.goto("/demo")
    expect(page.locator("body[data-ready=true]")).to_be_attached()
    if customer is not None or admin:
        if customer is not None:
            page.get_by_label("Customer ID").fill(customer)
        page.get_by_label("Admin").set_checked(admin)
        page.get_by_role("button", name="Switch").click()
        expect(page.get_by_role("status").filter(has_text="Signed in as")).to_contain_text(
            f"{customer}{' (admin)' if admin else ''}"
        )


def choose(page: Page, method: re.Pattern[str] | str) -> None:
    """Review -> method step -> pick a method -> initiatePayment -> the gateway's checkout."""
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_role("radio", name=method).check()
    page.get_by_role("button", name=PAY).click()
    expect(page.get_by_role("heading", name="Complete the payment")).to_be_visible()


def checkout_frame(page: Page) -> FrameLocator:
    """The payment form inside Razorpay Checkout's dialog (the sandbox's stand-in)."""
    expect(page.get_by_role("dialog", name=re.compile("Razorpay Checkout"))).to_be_visible()
    return page.frame_locator("iframe[title='Payment details']")


def pay_card(page: Page, number: str, *, save: bool = False) -> None:
    frame = checkout_frame(page)
    frame.get_by_label("Card number").fill(number)
    frame.get_by_label("Expiry").fill("12/30")
    frame.get_by_label("CVV").fill("123")
    if save:
        frame.get_by_label("Save this card").check()
    frame.get_by_role("button", name=PAY).click()


def expect_success(page: Page) -> None:
    expect(page.get_by_role("heading", name="Payment successful")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("COMPLETED")


def new_order(page: Page) -> None:
    page.get_by_role("button", name="Start a new order").click()
    expect(page.get_by_role("heading", name="Review your order")).to_be_visible()


class TestCardPayment:
    async def test_a_card_payment_succeeds_and_the_card_goes_only_to_the_gateway(
        self, browser: BrowserThread, demo
    ):
        def flow() -> None:
            with browser.page(demo.url, "card-payment", DESKTOP) as (page, _console):
                sent: list[tuple[str, str]] = []
                page.on("request", lambda r: sent.append((r.url, r.post_data or "")))
                page.on(
                    "websocket",
                    lambda ws: ws.on("framesent", lambda frame: sent.append((ws.url, str(frame)))),
                )
                open_demo(page)
                expect(page.get_by_role("table")).to_contain_text("Handloom cotton saree")
                expect(page.locator("#order-total")).to_have_text("₹3,248.00")
                choose(page, re.compile(r"^Card"))

                # Razorpay's checkout checks the card before anything leaves the browser.
                frame = checkout_frame(page)
                expect(frame.get_by_label("Card number")).to_be_focused()
                frame.get_by_label("Card number").fill("4100 2800 0000 1008")
                frame.get_by_label("Expiry").fill("01/20")
                frame.get_by_label("CVV").fill("12")
                frame.get_by_role("button", name=PAY).click()
                expect(frame.get_by_text("This card number is not valid")).to_be_visible()
                expect(frame.get_by_text("This card has expired.")).to_be_visible()
                expect(frame.get_by_text("The CVV is 3 digits.")).to_be_visible()
                expect(frame.get_by_label("Card number")).to_be_focused()
                expect(frame.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
                assert not [url for url, _ in sent if url.endswith("/pay")]

                frame.get_by_label("Card number").fill(VISA)
                frame.get_by_label("Expiry").fill("12/30")
                frame.get_by_label("CVV").fill("123")
                expect(frame.locator("[aria-invalid]")).to_have_count(0)
                if os.environ.get("PAYGRAPH_README_SCREENSHOT"):  # docs/checkout.png
                    clip = {"x": 0, "y": 0, "width": DESKTOP["width"], "height": 740}
                    page.screenshot(path=str(SCREENSHOTS / "readme.png"), clip=clip)
                frame.get_by_role("button", name=PAY).click()
                expect_success(page)
                receipt = page.get_by_role("definition")
                expect(receipt.filter(has_text="₹3,248.00")).to_be_visible()
                expect(receipt.filter(has_text=re.compile(r"^pay_"))).to_be_visible()
                statuses = page.locator("#live-timeline .badge").all_inner_texts()
                assert statuses[:2] == ["PENDING", "INITIATED"] and statuses[-1] == "COMPLETED", (
                    statuses
                )
                expect(page.locator("#refund-form")).to_be_hidden()  # customers don't refund

                digits = VISA.replace(" ", "")
                carried = {url for url, body in sent if digits in body.replace(" ", "")}
                assert carried and all("/sandbox/razorpay/checkout/" in url for url in carried), (
                    carried
                )
                assert not [
                    url
                    for url, body in sent
                    if "123" in body and "/graphql" in url and "cvv" in body.lower()
                ]

        await browser.call(flow)
        if os.environ.get("PAYGRAPH_README_SCREENSHOT"):
            README_SHOT.parent.mkdir(exist_ok=True)
            shutil.copyfile(SCREENSHOTS / "readme.png", README_SHOT)


class TestUpiFailureAndRetry:
    async def test_failure_shows_the_reason_and_a_retry_on_the_same_order_succeeds(
        self, browser: BrowserThread, demo
    ):
        def flow() -> None:
            with browser.page(demo.url, "upi-failure-then-retry", PHONE) as (page, console):
                console.expect_network_error(r"/sandbox/razorpay/checkout/order_\w+/pay$", 400)
                open_demo(page)
                order_id = page.locator("#order-id").inner_text()
                # Keyboard only: the arrow keys move through the methods, Enter presses buttons.
                page.get_by_role("button", name="Continue to payment").press("Enter")
                expect(
                    page.get_by_role("heading", name="How would you like to pay?")
                ).to_be_focused()
                page.get_by_role("radio", name=re.compile(r"^Card")).press("ArrowDown")
                expect(page.get_by_role("radio", name=re.compile(r"^UPI"))).to_be_checked()
                page.get_by_role("button", name=PAY).press("Enter")
                expect(page.get_by_role("heading", name="Complete the payment")).to_be_visible()
                frame = checkout_frame(page)  # focus moves into Razorpay's dialog
                expect(frame.get_by_label("UPI ID", exact=True)).to_be_focused()

                frame.get_by_label("UPI ID", exact=True).fill("not a vpa")
                frame.get_by_role("button", name=PAY).click()
                expect(frame.get_by_text("A UPI ID looks like name@bank.")).to_be_visible()

                frame.get_by_label("UPI ID", exact=True).fill("failure@razorpay")
                frame.get_by_role("button", name=PAY).press("Enter")
                expect(page.get_by_role("heading", name="Payment failed")).to_be_visible()
                expect(page.get_by_text("Reason: Payment failed.")).to_be_visible()
                expect(page.locator("#live-status")).to_have_text("FAILED")
                gateway_order = page.locator("#checkout-order").inner_text()

                page.get_by_role("button", name="Try again").click()
                expect(page.get_by_role("heading", name="Complete the payment")).to_be_visible()
                expect(page.locator("#checkout-order")).to_have_text(gateway_order)
                expect(page.locator("#live-status")).to_have_text("INITIATED")
                frame = checkout_frame(page)
                frame.get_by_label("UPI ID", exact=True).fill("success@razorpay")
                frame.get_by_label("UPI ID", exact=True).press("Enter")  # keyboard submit
                expect_success(page)
                expect(page.get_by_role("definition").filter(has_text=order_id)).to_be_visible()
                statuses = page.locator("#live-timeline .badge").all_inner_texts()
                assert "FAILED" in statuses and statuses[-1] == "COMPLETED", statuses

        await browser.call(flow)


class TestCancel:
    async def test_net_banking_payment_cancelled_at_the_bank_page(
        self, browser: BrowserThread, demo
    ):
        def flow() -> None:
            with browser.page(demo.url, "netbanking-cancelled", PHONE) as (page, _console):
                open_demo(page)
                page.get_by_role("button", name="Continue to payment").click()
                page.get_by_role("radio", name=re.compile(r"^Net banking")).check()
                page.get_by_label("Bank", exact=True).select_option("HDFC")
                page.get_by_role("button", name=PAY).click()
                frame = checkout_frame(page)
                expect(frame.get_by_label("Bank", exact=True)).to_have_value("HDFC")
                frame.get_by_role("button", name=PAY).click()
                expect(frame.get_by_role("heading", name="HDFC Bank")).to_be_focused()
                expect(
                    frame.get_by_text("stands for your bank's or wallet's own page")
                ).to_be_visible()
                page.get_by_role("button", name="Close").click()  # the shopper leaves the dialog
                expect(page.get_by_role("dialog")).to_have_count(0)
                page.get_by_role("button", name="Cancel this payment").click()
                expect(page.get_by_role("heading", name="Payment cancelled")).to_be_visible()
                expect(page.locator("#live-status")).to_have_text("CANCELLED")

        await browser.call(flow)


class TestPayPal:
    async def test_usd_order_approved_in_the_paypal_sandbox(self, browser: BrowserThread, demo):
        def flow() -> None:
            with browser.page(demo.url, "paypal-usd", DESKTOP) as (page, _console):
                open_demo(page)
                page.get_by_label("Currency").select_option("USD")
                expect(page.locator("#order-total")).to_have_text("$51.50")
                page.get_by_role("button", name="Continue to payment").click()
                expect(page.get_by_role("radio", name=re.compile(r"^UPI"))).to_have_count(0)
                choose_paypal = page.get_by_role("radio", name=re.compile(r"^PayPal"))
                choose_paypal.check()
                page.get_by_role("button", name=PAY).click()
                page.get_by_role("button", name="Continue to PayPal").click()

                expect(page.get_by_role("heading", name="PayPal sandbox")).to_be_visible()
                page.get_by_role("button", name="Pay now").click()

                expect_success(page)
                expect(page).to_have_url(re.compile(r"/demo/$"))
                receipt = page.get_by_role("definition")
                expect(receipt.filter(has_text="$51.50")).to_be_visible()
                expect(receipt.filter(has_text="PayPal")).to_have_count(2)  # method and gateway

        await browser.call(flow)


class TestSavedCard:
    async def test_saved_card_pays_later_orders_and_can_be_made_default_and_deleted(
        self, browser: BrowserThread, demo
    ):
        def flow() -> None:
            with browser.page(demo.url, "saved-card", PHONE) as (page, _console):
                open_demo(page, customer="saver-1")
                choose(page, re.compile(r"^Card"))
                expect(page.get_by_text("No saved methods yet")).to_be_hidden()  # not on this step
                pay_card(page, VISA, save=True)
                expect_success(page)
                expect(page.get_by_text("Visa •••• 1007 is saved")).to_be_visible()

                # Second order: the saved card, preselected as the default; no card typed.
                new_order(page)
                page.get_by_role("button", name="Continue to payment").click()
                saved = page.get_by_role("radio", name=re.compile(r"Visa •••• 1007"))
                expect(saved).to_be_checked()
                page.get_by_role("button", name=PAY).click()
                expect(page.get_by_text("Paying with saved Visa •••• 1007")).to_be_visible()
                frame = checkout_frame(page)
                expect(frame.get_by_text("Pay with saved card Visa •••• 1007")).to_be_visible()
                expect(frame.get_by_label("Card number")).to_be_hidden()
                frame.get_by_role("button", name=PAY).click()
                expect_success(page)

                # Third order: save a second card, make it the default, delete the first.
                new_order(page)
                page.get_by_role("button", name="Continue to payment").click()
                page.get_by_role("radio", name=re.compile(r"^Card")).check()
                page.get_by_role("button", name=PAY).click()
                pay_card(page, MASTERCARD, save=True)
                expect_success(page)
                new_order(page)
                page.get_by_role("button", name="Continue to payment").click()
                expect(page.locator("#saved-list li")).to_have_count(2)
                page.get_by_role("button", name="Make MasterCard •••• 1002 the default").click()
                expect(page.get_by_role("alert")).to_have_text("Default payment method changed.")
                expect(page.locator("#saved-list li").first).to_contain_text("MasterCard •••• 1002")
                expect(
                    page.get_by_role("radio", name=re.compile(r"MasterCard •••• 1002"))
                ).to_be_checked()
                page.get_by_role("button", name="Delete Visa •••• 1007").click()
                expect(page.locator("#saved-list li")).to_have_count(1)
                expect(page.get_by_role("radio", name=re.compile(r"Visa"))).to_have_count(0)
                page.get_by_role("button", name=PAY).click()
                expect(page.get_by_text("Paying with saved MasterCard •••• 1002")).to_be_visible()
                checkout_frame(page).get_by_role("button", name=PAY).click()
                expect_success(page)

        await browser.call(flow)


class TestAdminRefund:
    async def test_refund_status_turns_completed_on_screen(
        self, browser: BrowserThread, demo, demo_worker
    ):
        def flow() -> None:
            with browser.page(demo.url, "admin-refund", DESKTOP) as (page, _console):
                open_demo(page, customer="ops-demo", admin=True)
                choose(page, re.compile(r"^Card"))
                pay_card(page, VISA)
                expect_success(page)

                # The gateway settles this refund later (by webhook), as banks often do.
                httpx.post(
                    f"{demo.url}/sandbox/razorpay/_control",
                    json={"action": "configure", "refund_mode": "pending"},
                ).raise_for_status()
                expect(page.get_by_text("No refunds yet.")).to_be_visible()
                page.get_by_label("Amount").fill("1000.00")
                page.get_by_label("Reason").select_option("DAMAGED")
                page.get_by_role("button", name="Refund").click()
                row = page.locator("#refund-list li")
                expect(row.locator(".badge")).to_have_text("PROCESSING")
                gateway_refund = re.search(r"rfnd_\w+", row.inner_text())
                assert gateway_refund, row.inner_text()

                httpx.post(
                    f"{demo.url}/sandbox/razorpay/_control",
                    json={
                        "action": "settle_refund",
                        "refund_id": gateway_refund.group(0),
                        "status": "processed",
                    },
                ).raise_for_status()
                expect(row.locator(".badge")).to_have_text("COMPLETED", timeout=40_000)
                receipt = page.get_by_role("definition")
                expect(receipt.filter(has_text="PARTIALLY_REFUNDED")).to_be_visible()
                expect(receipt.filter(has_text="₹1,000.00")).to_be_visible()
                expect(page.get_by_label("Amount")).to_have_value("2248.00")

        await browser.call(flow)


class TestBrowserChecks:
    async def test_amount_checks(self, browser: BrowserThread, demo):
        """checks.js, run in the browser itself: money formatting and what the refund form
        refuses before sending anything (card and UPI checks are the checkout's own:
        tests/gateways/sandbox/razorpay/test_checkout_js.py)."""

        def flow() -> None:
            with browser.page(demo.url, "checks", PHONE) as (page, _console):
                page.goto("/demo/")
                results = page.evaluate(
                    """async () => {
                      const c = await import("/demo/checks.js");
                      return {
                        money: [324800, 5, 0].map((minor) => c.toDecimal(minor)),
                        refund: ["10.00", "50.01", "0", "1.234"].map(
                          (amount) => Boolean(c.checkAmount(amount, "50.00"))),
                      };
                    }"""
                )
                assert results == {
                    "money": ["3248.00", "0.05", "0.00"],
                    "refund": [False, True, True, True],
                }

        await browser.call(flow)

"""No card number anywhere: the payment flows run with the gateway's test card numbers typed into
notes, orderIds and every other string the API takes, and paid with in the sandbox checkout
(which, like Razorpay's, is the one place a card number may go). Afterwards every MongoDB
collection, every captured log record (raw, and as the app's redacting handler writes it) and the
sandbox gateway's own state are scanned for those numbers, with and without separators: none may
appear."""

from __future__ import annotations

import io
import itertools
import json
import logging
import re
from typing import Any

import pytest
from bson import json_util

from domain.cards import luhn_valid
from infra.logging import TextFormatter, install_filters
from tests.support.checkout import FAILING_CARD, Shopper

CARDS = [
    "4100280000001007",  # Visa, succeeds
    "6527658900001005",  # RuPay, succeeds
    "5241810000000000",  # MasterCard (EMI-capable), succeeds
    "340256000401007",  # American Express, 15 digits
    FAILING_CARD,  # Visa, declined
]
SUCCEEDING = CARDS[:4]
_orders = itertools.count(1)

INITIATE = """
mutation($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    __typename ... on UserError { code }
    ... on InitiatePaymentSuccess { payment { id } checkout { gatewayOrderId } }
  }
}"""
VERIFY = """
mutation($input: VerifyPaymentInput!) {
  verifyPayment(input: $input) { __typename ... on UserError { code message } }
}"""
SAVE = """
mutation($input: SavePaymentMethodInput!) {
  savePaymentMethod(input: $input) { __typename ... on UserError { code message } }
}"""


def spaced(card: str) -> str:
    return " ".join(card[i : i + 4] for i in range(0, len(card), 4))


def dashed(card: str) -> str:
    return "-".join(card[i : i + 4] for i in range(0, len(card), 4))


def forms(card: str) -> list[str]:
    return [card, spaced(card), dashed(card)]


def card_pattern(card: str) -> re.Pattern[str]:
    """The digits in order with any single space, dash or nothing between them."""
    return re.compile(r"[ \-]?".join(card))


def order_id() -> str:
    return f"NOPAN-{next(_orders):05d}"


@pytest.fixture
def all_logs(caplog):
    """Every log record at DEBUG (caplog, raw) and the same records through the app's own
    redacting text handler on the root logger."""
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    install_filters(handler)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield caplog, stream
    finally:
        root.removeHandler(handler)


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    return Shopper(client, tokens.mint("cust-nopan"))


async def post(shopper: Shopper, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = await shopper.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {shopper.token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(body: dict[str, Any]) -> bool:
    errors = body.get("errors") or []
    return body.get("data") is None and [e["extensions"]["code"] for e in errors] == [
        "PAN_NOT_ACCEPTED"
    ]


async def typed_into_every_string(shopper: Shopper, card: str) -> None:
    """The card number where a careless checkout or a confused customer might put it."""
    initiated = await shopper.initiate(orderId=order_id(), amount="499.00", paymentMethod="CARD")
    payment_id = initiated["payment"]["id"]
    upi = {"paymentMethod": "UPI"}
    for value in [*forms(card), f"my card is {spaced(card)} exp 12/30 cvv 123"]:
        order = {"orderId": order_id(), "amount": "499.00"}
        attempts = [
            (INITIATE, {"input": {**order, "notes": value}}),
            (INITIATE, {"input": {**order, "orderId": value}}),
            (INITIATE, {"input": {**order, "amount": value}}),
            (INITIATE, {"input": {**order, **upi, "vpa": value}}),
            (INITIATE, {"input": {**order, "currency": value}}),
            (VERIFY, {"input": {"paymentId": payment_id, "gatewayPaymentId": value}}),
            (VERIFY, {"input": {"paymentId": payment_id, "signature": value}}),
            (SAVE, {"input": {"paymentId": payment_id, "label": value}}),
            ("query($c: String!) { supportedMethods(currency: $c) { method } }", {"c": value}),
            ("query($s: String) { payments(after: $s) { edges { cursor } } }", {"s": value}),
            ("{ viewer { customerId } }", {"unused": {"deep": [value]}}),
        ]  # fmt: skip
        for query, variables in attempts:
            body = await post(shopper, query, variables)
            assert refused(body), (query, body)
        literal = json.dumps(value)
        inline = (
            f'mutation {{ initiatePayment(input: {{orderId: "{order_id()}", amount: "499.00", '
            f"notes: {literal}}}) {{ __typename }} }}"
        )
        assert refused(await post(shopper, inline, {}))


async def paid_with(shopper: Shopper, card: str, *, method: str = "card") -> None:
    """A real checkout with this card: save it, verify with saveMethod, save it again."""
    initiated = await shopper.initiate(orderId=order_id(), amount="2999.00", paymentMethod="CARD")
    assert initiated["__typename"] == "InitiatePaymentSuccess", initiated
    checkout = await shopper.pay_razorpay(
        initiated["checkout"]["gatewayOrderId"],
        method=method,
        card_number=spaced(card),
        save=True,
        customer_id=initiated["checkout"]["customerId"],
    )
    if card == FAILING_CARD:
        assert "error" in checkout, checkout
        return
    assert "razorpay_payment_id" in checkout, checkout
    verified = await shopper.verify(
        paymentId=initiated["payment"]["id"],
        gatewayPaymentId=checkout["razorpay_payment_id"],
        signature=checkout["razorpay_signature"],
        saveMethod=True,
    )
    assert verified["__typename"] == "PaymentSuccess", verified
    saved = await post(
        shopper, SAVE, {"input": {"paymentId": initiated["payment"]["id"], "label": "card"}}
    )
    assert saved["data"]["savePaymentMethod"]["__typename"] == "SavedMethodSuccess", saved


def razorpay_sandbox_state(app_server: Any) -> str:
    """Everything the in-process Razorpay sandbox holds (orders, payments, cards, refunds,
    webhook deliveries), serialised."""
    app = app_server.server.config.app
    for route in app.routes:
        if getattr(route, "path", None) == "/sandbox/razorpay":
            sandbox = route.app.state.razorpay_sandbox
            break
    else:
        raise AssertionError("the Razorpay sandbox is not mounted")
    held = {k: v for k, v in vars(sandbox).items() if isinstance(v, dict | list | tuple | str)}
    assert "payments" in held and "cards" in held
    return json.dumps(_keys_as_text(held), default=repr)


def _keys_as_text(value: object) -> object:
    """The sandbox's indexes have tuple keys (email and contact): searched as text too."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): _keys_as_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_keys_as_text(item) for item in value]
    return value


async def test_no_card_number_is_stored_logged_or_kept_by_the_gateway(
    shopper, all_logs, mongo_db, app_server
):
    caplog, formatted = all_logs
    assert all(luhn_valid(card) for card in CARDS)
    for card in CARDS:
        await typed_into_every_string(shopper, card)
    for card in CARDS:
        await paid_with(shopper, card)

    methods = (await shopper.graphql("{ savedMethods { last4 network } }"))["savedMethods"]
    assert sorted(m["last4"] for m in methods) == sorted(card[-4:] for card in SUCCEEDING)

    haystacks: dict[str, str] = {}
    for name in await mongo_db.list_collection_names():
        documents = await mongo_db[name].find({}).to_list(None)
        haystacks[f"mongo:{name}"] = json_util.dumps(documents)
    assert any(h != "[]" for h in haystacks.values()), "the flows stored nothing?"
    raw_records = []
    for record in caplog.records:
        raw_records.append(record.getMessage())
        if record.exc_text:
            raw_records.append(record.exc_text)
        raw_records.append(json.dumps({k: v for k, v in vars(record).items()}, default=repr))
    haystacks["logs:raw"] = "\n".join(raw_records)
    haystacks["logs:formatted"] = formatted.getvalue()
    haystacks["sandbox:razorpay"] = razorpay_sandbox_state(app_server)
    assert "refused an operation carrying a card number" in haystacks["logs:raw"]

    leaks = [
        (where, card)
        for card in CARDS
        for where, text in haystacks.items()
        if card_pattern(card).search(text)
    ]
    assert leaks == []

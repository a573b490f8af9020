"""Saved payment methods and the PAN guard over GraphQL, against the Razorpay sandbox over real
HTTP: a card saved from a verified payment, dedupe, the one default under concurrent calls,
delete, ownership, typed errors, and card numbers refused in any argument."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
from bson import json_util

from models.payment import Payment
from models.saved_method import SavedPaymentMethod
from tests.support.checkout import Shopper

_orders = itertools.count(1)

METHOD_FIELDS = "id gateway methodType last4 network expiryMonth expiryYear expired label isDefault"

SAVED_METHODS = f"{{ savedMethods {{ {METHOD_FIELDS} }} }}"
SAVED_METHOD = f"query($id: ID!) {{ savedMethod(id: $id) {{ {METHOD_FIELDS} }} }}"

SAVE = f"""
mutation($input: SavePaymentMethodInput!) {{
  savePaymentMethod(input: $input) {{
    __typename
    ... on SavedMethodSuccess {{ savedMethod {{ {METHOD_FIELDS} }} }}
    ... on UserError {{ code message }}
    ... on ValidationError {{ field }}
  }}
}}"""

SET_DEFAULT = """
mutation($id: ID!) {
  setDefaultSavedMethod(id: $id) {
    __typename
    ... on SavedMethodSuccess { savedMethod { id isDefault } }
    ... on UserError { code }
  }
}"""

DELETE = """
mutation($id: ID!) {
  deleteSavedMethod(id: $id) {
    __typename
    ... on DeleteSavedMethodSuccess { deletedId }
    ... on UserError { code }
  }
}"""

INITIATE_BARE = """
mutation($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) { __typename ... on UserError { code } }
}"""

TOKEN_CARD = "4100280000001007"


def order_id() -> str:
    return f"SAVE-{next(_orders):05d}"


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("cust-1"))


@pytest.fixture
async def other_shopper(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("cust-2"))


@pytest.fixture
async def sandbox(client):
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})


async def paid(
    shopper: Shopper, *, save: bool = True, save_method: bool = False, card: str = TOKEN_CARD
) -> dict:
    """initiate -> pay in the sandbox checkout (saving the card when `save`) -> verify."""
    initiated = await shopper.initiate(orderId=order_id(), amount="499.00", paymentMethod="CARD")
    assert initiated["__typename"] == "InitiatePaymentSuccess", initiated
    checkout = await shopper.pay_razorpay(
        initiated["checkout"]["gatewayOrderId"],
        method="card",
        card_number=card,
        save=save,
        customer_id=initiated["checkout"]["customerId"],
    )
    assert "razorpay_payment_id" in checkout, checkout
    verified = await shopper.verify(
        paymentId=initiated["payment"]["id"],
        gatewayPaymentId=checkout["razorpay_payment_id"],
        signature=checkout["razorpay_signature"],
        saveMethod=save_method,
    )
    assert verified["__typename"] == "PaymentSuccess", verified
    assert verified["payment"]["status"] == "COMPLETED"
    return verified["payment"]


async def save_method(shopper: Shopper, payment_id: str, **fields) -> dict:
    data = await shopper.graphql(SAVE, {"input": {"paymentId": payment_id, **fields}})
    return data["savePaymentMethod"]


async def gateway_token(client, settings, gateway_payment_id: str) -> str:
    response = await client.get(
        f"/sandbox/razorpay/v1/payments/{gateway_payment_id}",
        auth=(settings.razorpay_key_id, settings.razorpay_key_secret),
    )
    token = response.json()["token_id"]
    assert token
    return token


class TestSaveFromVerifiedPayment:
    async def test_verify_with_save_method_keeps_the_token_encrypted(
        self, shopper, sandbox, client, settings, mongo_db
    ):
        payment = await paid(shopper, save=True, save_method=True)
        methods = (await shopper.graphql(SAVED_METHODS))["savedMethods"]
        assert len(methods) == 1
        method = methods[0]
        assert method["last4"] == "1007" and method["network"] == "Visa"
        assert method["gateway"] == "RAZORPAY" and method["methodType"] == "CARD"
        assert method["isDefault"] is True and method["expired"] is False

        token = await gateway_token(client, settings, payment["gatewayPaymentId"])
        raw = await mongo_db["saved_payment_methods"].find_one({})
        dumped = json_util.dumps(raw)
        assert token not in dumped
        assert raw["token_ciphertext"].startswith("gAAAAA")
        assert TOKEN_CARD not in dumped and TOKEN_CARD[-4:] == raw["last4"]

    async def test_save_payment_method_and_saving_again_returns_it(self, shopper, sandbox):
        payment = await paid(shopper, save=True)
        assert (await shopper.graphql(SAVED_METHODS))["savedMethods"] == []
        first = await save_method(shopper, payment["id"], label="Work card")
        assert first["__typename"] == "SavedMethodSuccess", first
        assert first["savedMethod"]["label"] == "Work card"
        again = await save_method(shopper, payment["id"])
        assert again["__typename"] == "SavedMethodSuccess"
        assert again["savedMethod"]["id"] == first["savedMethod"]["id"]
        assert len((await shopper.graphql(SAVED_METHODS))["savedMethods"]) == 1

    async def test_a_payment_without_a_token_is_a_validation_error(self, shopper, sandbox):
        payment = await paid(shopper, save=False, save_method=True)  # verify still completes
        assert (await shopper.graphql(SAVED_METHODS))["savedMethods"] == []
        result = await save_method(shopper, payment["id"])
        assert result["__typename"] == "ValidationError"
        assert result["code"] == "VALIDATION_ERROR" and result["field"] == "paymentId"

    async def test_an_unpaid_payment_is_invalid_state(self, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id(), paymentMethod="CARD")
        result = await save_method(shopper, initiated["payment"]["id"])
        assert result["__typename"] == "InvalidStateError" and result["code"] == "INVALID_STATE"

    async def test_another_customers_payment_is_not_found(self, shopper, other_shopper, sandbox):
        payment = await paid(shopper, save=True)
        result = await save_method(other_shopper, payment["id"])
        assert result["__typename"] == "NotFoundError" and result["code"] == "NOT_FOUND"
        assert await SavedPaymentMethod.find({}).count() == 0

    async def test_the_schema_has_no_token_or_card_fields(self, shopper):
        body = await shopper.graphql(
            '{ t: __type(name: "SavedMethod") { fields { name } } '
            'i: __type(name: "SavePaymentMethodInput") { inputFields { name } } }'
        )
        names = [f["name"].lower() for f in body["t"]["fields"] + body["i"]["inputFields"]]
        assert not [n for n in names if "token" in n or "cvv" in n or "number" in n]


class TestPayWithSavedMethod:
    async def test_a_saved_card_pays_a_second_order(
        self, shopper, sandbox, client, settings, mongo_db
    ):
        first = await paid(shopper, save=True, save_method=True)
        method = (await shopper.graphql(SAVED_METHODS))["savedMethods"][0]
        token = await gateway_token(client, settings, first["gatewayPaymentId"])
        second = await shopper.initiate(
            orderId=order_id(), amount="250.00", paymentMethod="CARD", savedMethodId=method["id"]
        )
        assert second["__typename"] == "InitiatePaymentSuccess", second
        response = await client.post(
            "/graphql",
            json={
                "query": "query($id: ID!) { payment(id: $id) { checkout { savedToken } } }",
                "variables": {"id": second["payment"]["id"]},
            },
            headers={"Authorization": f"Bearer {shopper.token}"},
        )
        assert response.json()["data"]["payment"]["checkout"]["savedToken"] is None  # not at rest
        checkout = await client.post(
            f"/sandbox/razorpay/checkout/{second['checkout']['gatewayOrderId']}/pay",
            json={
                "method": "card",
                "token": token,
                "customer_id": second["checkout"]["customerId"],
            },
        )
        paid_second = checkout.json()
        verified = await shopper.verify(
            paymentId=second["payment"]["id"],
            gatewayPaymentId=paid_second["razorpay_payment_id"],
            signature=paid_second["razorpay_signature"],
        )
        assert verified["payment"]["status"] == "COMPLETED"
        raw_payment = await mongo_db["payment_orders"].find_one(
            {"order_id": second["payment"]["orderId"]}
        )
        assert token not in json_util.dumps(raw_payment)

    async def test_initiate_returns_the_token_for_the_checkout(
        self, shopper, sandbox, client, settings
    ):
        first = await paid(shopper, save=True, save_method=True)
        method = (await shopper.graphql(SAVED_METHODS))["savedMethods"][0]
        token = await gateway_token(client, settings, first["gatewayPaymentId"])
        response = await client.post(
            "/graphql",
            json={
                "query": """mutation($input: InitiatePaymentInput!) { initiatePayment(input: $input) {
                    ... on InitiatePaymentSuccess { checkout { savedToken } } } }""",
                "variables": {
                    "input": {
                        "orderId": order_id(),
                        "amount": "10.00",
                        "savedMethodId": method["id"],
                    }
                },
            },
            headers={"Authorization": f"Bearer {shopper.token}"},
        )
        assert response.json()["data"]["initiatePayment"]["checkout"]["savedToken"] == token

    async def test_a_card_past_its_expiry_month_cannot_pay_and_nothing_is_written(
        self, shopper, sandbox, client, mongo_db
    ):
        await paid(shopper, save=True, save_method=True)
        method = (await shopper.graphql(SAVED_METHODS))["savedMethods"][0]
        await mongo_db["saved_payment_methods"].update_one(
            {"last4": method["last4"]}, {"$set": {"expiry_month": 1, "expiry_year": 2020}}
        )
        listed = (await shopper.graphql(SAVED_METHODS))["savedMethods"][0]
        assert listed["expired"] is True
        orders = (await client.get("/sandbox/razorpay/_control")).json()["counts"]["orders"]
        order = order_id()
        result = await shopper.initiate(
            orderId=order, amount="10.00", paymentMethod="CARD", savedMethodId=method["id"]
        )
        assert (result["code"], result["field"]) == ("VALIDATION_ERROR", "savedMethodId")
        assert "expired at the end of 01/2020" in result["message"]
        assert await mongo_db["payment_orders"].count_documents({"order_id": order}) == 0
        assert (await client.get("/sandbox/razorpay/_control")).json()["counts"]["orders"] == orders

    async def test_another_customers_saved_method_cannot_pay(self, shopper, other_shopper, sandbox):
        await paid(shopper, save=True, save_method=True)
        method = (await shopper.graphql(SAVED_METHODS))["savedMethods"][0]
        result = await other_shopper.initiate(
            orderId=order_id(), amount="10.00", savedMethodId=method["id"]
        )
        assert result["code"] == "NOT_FOUND"

    async def test_a_token_the_sandbox_never_issued_is_refused(self, shopper, sandbox, client):
        initiated = await shopper.initiate(orderId=order_id(), amount="10.00")
        response = await client.post(
            f"/sandbox/razorpay/checkout/{initiated['checkout']['gatewayOrderId']}/pay",
            json={"method": "card", "token": "token_NeverIssued0001"},
        )
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "token"


class TestRazorpayCustomer:
    """Razorpay saves a card, and takes a saved card's token, only for one of its customers:
    each shopper gets one, made at the first card checkout and named to every later one."""

    async def test_card_checkouts_name_the_shopper_s_one_customer(
        self, shopper, other_shopper, sandbox, client, mongo_db
    ):
        first = await shopper.initiate(orderId=order_id(), amount="10.00", paymentMethod="CARD")
        second = await shopper.initiate(orderId=order_id(), amount="20.00", paymentMethod="CARD")
        theirs = await other_shopper.initiate(
            orderId=order_id(), amount="10.00", paymentMethod="CARD"
        )
        customer = first["checkout"]["customerId"]
        assert customer.startswith("cust_")
        assert second["checkout"]["customerId"] == customer
        assert theirs["checkout"]["customerId"] not in (None, customer)
        counts = (await client.get("/sandbox/razorpay/_control")).json()["counts"]
        assert counts["customers"] == 2
        stored = await mongo_db["gateway_customers"].find_one({"customer_id": "cust-1"})
        assert (stored["gateway"], stored["gateway_customer_id"]) == ("RAZORPAY", customer)

    async def test_other_methods_need_no_customer(self, shopper, sandbox, client):
        upi = await shopper.initiate(orderId=order_id(), amount="10.00", paymentMethod="UPI")
        assert upi["checkout"]["customerId"] is None
        assert (await client.get("/sandbox/razorpay/_control")).json()["counts"]["customers"] == 0

    async def test_without_a_customer_the_card_is_not_saved(self, shopper, sandbox):
        initiated = await shopper.initiate(orderId=order_id(), amount="10.00", paymentMethod="CARD")
        checkout = await shopper.pay_razorpay(
            initiated["checkout"]["gatewayOrderId"], card_number=TOKEN_CARD, save=True
        )
        verified = await shopper.verify(
            paymentId=initiated["payment"]["id"],
            gatewayPaymentId=checkout["razorpay_payment_id"],
            signature=checkout["razorpay_signature"],
            saveMethod=True,
        )
        assert verified["payment"]["status"] == "COMPLETED"
        assert (await shopper.graphql(SAVED_METHODS))["savedMethods"] == []

    async def test_another_shopper_cannot_pay_with_a_token_they_learned(
        self, shopper, other_shopper, sandbox, client, settings
    ):
        first = await paid(shopper, save=True, save_method=True)
        token = await gateway_token(client, settings, first["gatewayPaymentId"])
        theirs = await other_shopper.initiate(
            orderId=order_id(), amount="10.00", paymentMethod="CARD"
        )
        response = await client.post(
            f"/sandbox/razorpay/checkout/{theirs['checkout']['gatewayOrderId']}/pay",
            json={
                "method": "card",
                "token": token,
                "customer_id": theirs["checkout"]["customerId"],
            },
        )
        assert (response.status_code, response.json()["error"]["field"]) == (400, "token")


class TestDefaultAndDelete:
    async def test_twenty_concurrent_set_default_calls_leave_one_default(self, shopper, sandbox):
        ids = []
        for _ in range(4):
            await paid(shopper, save=True, save_method=True)
        ids = [m["id"] for m in (await shopper.graphql(SAVED_METHODS))["savedMethods"]]
        assert len(ids) == 4
        results = await asyncio.gather(
            *(shopper.graphql(SET_DEFAULT, {"id": ids[i % 4]}) for i in range(20))
        )
        assert {r["setDefaultSavedMethod"]["__typename"] for r in results} == {"SavedMethodSuccess"}
        methods = (await shopper.graphql(SAVED_METHODS))["savedMethods"]
        assert [m["isDefault"] for m in methods].count(True) == 1
        assert methods[0]["isDefault"]  # the default is listed first

    async def test_delete_removes_it_and_promotes_another_default(self, shopper, sandbox):
        await paid(shopper, save=True, save_method=True)
        await paid(shopper, save=True, save_method=True)
        default, other = (await shopper.graphql(SAVED_METHODS))["savedMethods"]
        deleted = (await shopper.graphql(DELETE, {"id": default["id"]}))["deleteSavedMethod"]
        assert deleted == {"__typename": "DeleteSavedMethodSuccess", "deletedId": default["id"]}
        remaining = (await shopper.graphql(SAVED_METHODS))["savedMethods"]
        assert [(m["id"], m["isDefault"]) for m in remaining] == [(other["id"], True)]
        again = (await shopper.graphql(DELETE, {"id": default["id"]}))["deleteSavedMethod"]
        assert again["__typename"] == "NotFoundError"

    async def test_another_customers_method_is_not_found(self, shopper, other_shopper, sandbox):
        await paid(shopper, save=True, save_method=True)
        method_id = (await shopper.graphql(SAVED_METHODS))["savedMethods"][0]["id"]
        assert (await other_shopper.graphql(SAVED_METHODS))["savedMethods"] == []
        response = await other_shopper.http.post(
            "/graphql",
            json={"query": SAVED_METHOD, "variables": {"id": method_id}},
            headers={"Authorization": f"Bearer {other_shopper.token}"},
        )
        body = response.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        for mutation, name in (
            (SET_DEFAULT, "setDefaultSavedMethod"),
            (DELETE, "deleteSavedMethod"),
        ):
            result = (await other_shopper.graphql(mutation, {"id": method_id}))[name]
            assert result["__typename"] == "NotFoundError"
        mine = (await shopper.graphql(SAVED_METHOD, {"id": method_id}))["savedMethod"]
        assert mine["id"] == method_id


async def post(shopper: Shopper, query: str, variables: dict | None = None) -> dict:
    response = await shopper.http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {shopper.token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_refused(body: dict, where: str) -> None:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "PAN_NOT_ACCEPTED", error
    assert where in error["message"] and where in error["extensions"]["field"]
    text = json.dumps(body)
    for digits in ("4100280000001007", "4100 2800 0000 1007", "6527", "1005"):
        assert digits not in text


class TestPanGuard:
    @pytest.mark.parametrize(
        "field, value",
        [
            ("notes", "card 4100 2800 0000 1007 please"),
            ("notes", "6527-6589-0000-1005"),
            ("orderId", "4100280000001007"),
            ("vpa", "4100280000001007@upi"),
        ],
    )
    async def test_variables_are_refused_and_nothing_is_stored(
        self, shopper, field, value, mongo_db
    ):
        fields = {"orderId": order_id(), "amount": "499.00", "paymentMethod": "CARD", field: value}
        body = await post(shopper, INITIATE_BARE, {"input": fields})
        assert_refused(body, f"$input.{field}")
        assert await Payment.find({}).count() == 0

    async def test_inline_literals_are_refused(self, shopper, mongo_db):
        query = (
            'mutation { initiatePayment(input: {orderId: "LIT-1", amount: "499.00", '
            'notes: "4100 2800 0000 1007"}) { __typename } }'
        )
        assert_refused(await post(shopper, query), "initiatePayment.input.notes")
        # the document's findings are kept per text: sent again, refused again
        assert_refused(await post(shopper, query), "initiatePayment.input.notes")
        assert await Payment.find({}).count() == 0

    async def test_a_known_document_still_gets_its_variables_scanned(self, shopper, mongo_db):
        # The same text, first clean (its literal scan is kept), then with a number in a variable.
        clean = {"orderId": order_id(), "amount": "499.00", "paymentMethod": "CARD", "notes": "x"}
        first = await post(shopper, INITIATE_BARE, {"input": clean})
        assert "errors" not in first, first
        dirty = {**clean, "orderId": order_id(), "notes": "4100 2800 0000 1007"}
        assert_refused(await post(shopper, INITIATE_BARE, {"input": dirty}), "$input.notes")
        assert await Payment.find({}).count() == 1

    async def test_nested_input_of_another_mutation_is_refused(self, shopper, sandbox, mongo_db):
        payment = await paid(shopper, save=True)
        body = await post(
            shopper, SAVE, {"input": {"paymentId": payment["id"], "label": "4100280000001007"}}
        )
        assert_refused(body, "$input.label")
        assert await SavedPaymentMethod.find({}).count() == 0

    async def test_query_arguments_and_numbers_are_refused(self, shopper):
        assert_refused(
            await post(shopper, '{ supportedMethods(amount: "4100280000001007") { method } }'),
            "supportedMethods.amount",
        )
        # An Int literal that would fail validation with the digits quoted: refused instead.
        assert_refused(
            await post(shopper, "{ payments(first: 4100280000001007) { edges { cursor } } }"),
            "payments.first",
        )
        assert_refused(
            await post(shopper, "query($n: Int) { payments(first: $n) { edges { cursor } } }",
                       {"n": 4100280000001007}),
            "$n",
        )  # fmt: skip

    async def test_undeclared_variables_and_lists_are_scanned(self, shopper):
        body = await post(
            shopper, "{ viewer { customerId } }", {"extra": ["x", "4100280000001007"]}
        )
        assert_refused(body, "$extra[1]")

    async def test_ids_that_are_object_ids_are_not_card_numbers(self, shopper):
        # 24 hex with a Luhn-valid run of 16 digits: an id, looked up and not found.
        object_id = "aa4100280000001007bbccdd"
        body = await post(shopper, SAVED_METHOD, {"id": object_id})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        # In a String argument a digit run glued to letters (hex, ids, signatures) is not a card
        # number either; the same digits standing alone are.
        body = await post(
            shopper, INITIATE_BARE, {"input": {"orderId": "X", "amount": "1", "notes": object_id}}
        )
        assert "errors" not in body or body["errors"][0]["extensions"]["code"] != "PAN_NOT_ACCEPTED"
        body = await post(
            shopper, INITIATE_BARE,
            {"input": {"orderId": "X", "amount": "1", "notes": "aa 4100280000001007 bb"}},
        )  # fmt: skip
        assert body["errors"][0]["extensions"]["code"] == "PAN_NOT_ACCEPTED"

    async def test_ordinary_digits_pass(self, shopper, sandbox):
        # 16 digits failing Luhn, and a phone number: not card numbers.
        result = await shopper.initiate(
            orderId="4100280000001008", amount="499.00", notes="call +91 98765 43210"
        )
        assert result["__typename"] == "InitiatePaymentSuccess"

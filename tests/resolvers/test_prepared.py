"""Prepared operations against the standard path, byte for byte, over real HTTP.

Each request is sent twice to the same app: first with prepared operations switched off (the
standard path answers), then on (its plan answers, unless the plan does not cover it). Both
answers must be the same bytes, status and content type, and the plan's answer count says which
path gave the second one."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import strawberry

from resolvers.prepared import Fallback, PreparedOperations
from schema import build_schema
from tests.support.checkout import PAYMENT, Shopper, pay_razorpay

CARD = "4111 1111 1111 1111"
MISSING = "5f0c3b2a9d1e4f6a7b8c9d0e"


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class Twice:
    """Sends a request twice; checks both answers are the same bytes."""

    def __init__(self, http: httpx.AsyncClient, prepared: PreparedOperations) -> None:
        self.http = http
        self.prepared = prepared

    async def post(
        self, body: dict[str, Any], token: str | None, *, planned: bool
    ) -> httpx.Response:
        return await self._twice(
            lambda: self.http.post("/graphql", json=body, headers=bearer(token)), planned
        )

    async def get(
        self, params: dict[str, str], token: str | None, *, planned: bool
    ) -> httpx.Response:
        return await self._twice(
            lambda: self.http.get("/graphql", params=params, headers=bearer(token)), planned
        )

    async def _twice(self, send: Any, planned: bool) -> httpx.Response:
        self.prepared.enabled = False
        try:
            standard = await send()
        finally:
            self.prepared.enabled = True
        before = self.prepared.answered
        second = await send()
        if planned and self.prepared.answered == before:
            second = await send()  # the first sight compiles the plan; it answers from the next
        assert (self.prepared.answered > before) is planned
        assert second.status_code == standard.status_code
        assert second.headers["content-type"] == standard.headers["content-type"]
        assert second.content == standard.content
        return second


@pytest.fixture
async def twice(client: httpx.AsyncClient, _app: Any) -> Twice:
    app, _running = _app
    return Twice(client, app.state.prepared)


@pytest.fixture
async def paid(client: httpx.AsyncClient, tokens: Any) -> dict[str, Any]:
    """A completed payment of cust-p1 (so its timeline has several entries)."""
    shopper = Shopper(client, tokens.mint("cust-p1"))
    initiated = await shopper.initiate(orderId="ORD-PREP-1")
    result = await pay_razorpay(client, initiated["checkout"]["gatewayOrderId"])
    verified = await shopper.verify(
        paymentId=initiated["payment"]["id"],
        gatewayPaymentId=result["razorpay_payment_id"],
        signature=result["razorpay_signature"],
    )
    assert verified["payment"]["status"] == "COMPLETED"
    return verified["payment"]


class TestAnswersFromThePlan:
    async def test_a_payment_with_every_field_the_checkout_reads(self, twice, tokens, paid):
        answer = await twice.post(
            {"query": PAYMENT, "variables": {"id": paid["id"]}},
            tokens.mint("cust-p1"),
            planned=True,
        )
        assert answer.json()["data"]["payment"]["status"] == "COMPLETED"
        assert len(answer.json()["data"]["payment"]["timeline"]) >= 2

    async def test_aliases_fragments_typename_refunds_and_two_root_fields(
        self, twice, tokens, paid
    ):
        query = """
        query Both($id: ID!) {
          me: viewer { customerId roles }
          payment(id: $id) { __typename ...Head ... on Payment { refunds { id } } }
        }
        fragment Head on Payment { id state: status amount { minor currency } }
        """
        answer = await twice.post(
            {"query": query, "variables": {"id": paid["id"]}, "operationName": "Both"},
            tokens.mint("cust-p1"),
            planned=True,
        )
        data = answer.json()["data"]
        assert data["me"] == {"customerId": "cust-p1", "roles": ["CUSTOMER"]}
        assert data["payment"]["__typename"] == "Payment"
        assert data["payment"]["refunds"] == []

    async def test_a_page_of_payments_filtered_by_an_enum(self, twice, tokens, paid):
        query = """query($status: PaymentStatus) { payments(first: 5, status: $status) {
            edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }"""
        answer = await twice.post(
            {"query": query, "variables": {"status": "COMPLETED"}},
            tokens.mint("cust-p1"),
            planned=True,
        )
        assert answer.json()["data"]["payments"]["edges"][0]["node"]["id"] == paid["id"]

    async def test_get(self, twice, tokens, paid):
        params = {"query": "query($id: ID!) { payment(id: $id) { id status } }",
                  "variables": f'{{"id": "{paid["id"]}"}}'}  # fmt: skip
        answer = await twice.get(params, tokens.mint("cust-p1"), planned=True)
        assert answer.json()["data"]["payment"] == {"id": paid["id"], "status": "COMPLETED"}


class TestErrorsFromThePlan:
    """Domain errors at the top are the plan's to answer, in the standard path's words."""

    @pytest.mark.parametrize("payment_id", [MISSING, "not-an-id"])
    async def test_not_found(self, twice, tokens, payment_id):
        answer = await twice.post(
            {"query": PAYMENT, "variables": {"id": payment_id}},
            tokens.mint("cust-p1"),
            planned=True,
        )
        assert answer.json()["data"] is None
        assert answer.json()["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "id"}

    async def test_another_customers_payment_is_not_found(self, twice, tokens, paid):
        answer = await twice.post(
            {"query": PAYMENT, "variables": {"id": paid["id"]}},
            tokens.mint("cust-p2"),
            planned=True,
        )
        assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    @pytest.mark.parametrize("token", ["not-a-jwt", None, "expired"])
    async def test_bad_expired_or_missing_token(self, twice, tokens, paid, token):
        if token == "expired":
            token = tokens.mint("cust-p1", ttl_seconds=-60)
        answer = await twice.post(
            {"query": PAYMENT, "variables": {"id": paid["id"]}}, token, planned=True
        )
        assert answer.json()["data"] is None
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    async def test_logs_the_same_as_the_standard_path(self, twice, tokens, caplog):
        with caplog.at_level(logging.DEBUG, logger="paygraph"):
            await twice.http.post(
                "/graphql",
                json={"query": PAYMENT, "variables": {"id": MISSING}},
                headers=bearer(tokens.mint("cust-p1")),
            )
            standard = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
            caplog.clear()
            await twice.post(
                {"query": PAYMENT, "variables": {"id": MISSING}},
                tokens.mint("cust-p1"),
                planned=True,
            )
            prepared = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
        assert prepared == standard


class TestLeftToTheStandardPath:
    async def test_a_card_number_in_a_variable(self, twice, tokens, caplog):
        query = "query($currency: String!, $amount: String) { supportedMethods(currency: $currency, amount: $amount) { method } }"
        with caplog.at_level(logging.WARNING, logger="paygraph"):
            answer = await twice.post(
                {"query": query, "variables": {"currency": "INR", "amount": CARD}},
                tokens.mint("cust-p1"),
                planned=False,
            )
        assert answer.json()["errors"][0]["extensions"]["code"] == "PAN_NOT_ACCEPTED"
        refusals = [r for r in caplog.records if "card number" in r.getMessage()]
        assert len(refusals) == 2  # once per request, whichever path read it
        assert CARD not in caplog.text

    @pytest.mark.parametrize(
        "variables", [{"id": {"not": "an id"}}, {}, {"id": None}], ids=["object", "missing", "null"]
    )
    async def test_variables_that_do_not_fit(self, twice, tokens, variables):
        answer = await twice.post(
            {"query": PAYMENT, "variables": variables}, tokens.mint("cust-p1"), planned=False
        )
        assert answer.json()["data"] is None
        assert "$id" in answer.json()["errors"][0]["message"]

    async def test_unknown_operation_name(self, twice, tokens):
        answer = await twice.post(
            {"query": "query A { viewer { customerId } }", "operationName": "B"},
            tokens.mint("cust-p1"),
            planned=False,
        )
        assert answer.status_code == 400

    async def test_a_mutation_is_never_prepared(self, twice, tokens):
        mutation = "mutation($id: ID!) { cancelPayment(id: $id) { __typename } }"
        answer = await twice.post(
            {"query": mutation, "variables": {"id": MISSING}}, tokens.mint("cust-p1"), planned=False
        )
        assert answer.json()["data"]["cancelPayment"]["__typename"] == "NotFoundError"

    async def test_a_document_that_does_not_validate(self, twice, tokens):
        answer = await twice.post(
            {"query": "{ payment { nope } }"}, tokens.mint("cust-p1"), planned=False
        )
        assert answer.json()["data"] is None

    async def test_directives(self, twice, tokens):
        query = "query($on: Boolean!) { viewer { customerId @include(if: $on) } }"
        answer = await twice.post(
            {"query": query, "variables": {"on": False}}, tokens.mint("cust-p1"), planned=False
        )
        assert answer.json()["data"] == {"viewer": {}}


@strawberry.type
class _Broken:
    @strawberry.field
    def fine(self) -> str:
        return "ok"

    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("a bug")


class TestUnexpectedErrors:
    async def test_a_bug_in_a_resolver_goes_to_the_standard_path_to_be_masked_and_logged(self):
        prepared = PreparedOperations(build_schema(_Broken))
        assert prepared.plan("{ broken }", None) is None  # first sight: the standard path
        plan = prepared.plan("{ broken }", None)
        assert plan is not None
        with pytest.raises(Fallback):
            await prepared.run(plan, None, None, context=None)
        fine = prepared.plan("{ fine }", None) or prepared.plan("{ fine }", None)
        assert fine is not None
        answer = await prepared.run(fine, None, None, context=None)
        assert answer.body == b'{"data":{"fine":"ok"}}'

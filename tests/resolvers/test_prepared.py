"""Prepared operations against the standard path, byte for byte, over real HTTP.

Each request is sent to the same app with prepared operations switched off (the standard path
answers), then twice with them on (the first sight of a document compiles its plan, and the
plan answers from the next one, unless it does not cover the request). The answers must be the
same bytes, status and content type, and the plan's answer count says which path gave the last
one. A mutation is sent only where sending it again answers the same (a repeated initiate, a
verify of a completed payment, errors)."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

import httpx
import pytest
import strawberry

from resolvers.graphql_view import PaygraphGraphQL
from resolvers.prepared import Fallback, PreparedOperations, Replay
from schema import build_schema
from tests.support.checkout import CANCEL, INITIATE, PAYMENT, VERIFY, Shopper, pay_razorpay
from tests.support.payments import Sandboxes

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
        first = await send()  # a first sight compiles the plan (the standard path answers it)
        before = self.prepared.answered
        second = await send()
        assert (self.prepared.answered > before) is planned
        for answer in (first, second):
            assert answer.status_code == standard.status_code
            assert answer.headers["content-type"] == standard.headers["content-type"]
            assert answer.content == standard.content
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


class TestMutationsFromThePlan:
    """A mutation's one field runs once, from the plan; its answer is the standard path's
    bytes. Each is sent where a repeat answers the same."""

    async def test_initiate_and_its_repeat(self, twice, tokens):
        body = {
            "query": INITIATE,
            "variables": {"input": {"orderId": "ORD-PREP-M1", "amount": "499.00"}},
        }
        answer = await twice.post(body, tokens.mint("cust-p1"), planned=True)
        result = answer.json()["data"]["initiatePayment"]
        assert result["__typename"] == "InitiatePaymentSuccess"
        assert result["payment"]["status"] == "INITIATED"
        assert result["checkout"]["gatewayOrderId"].startswith("order_")

    async def test_verify_of_a_completed_payment(self, twice, tokens, paid):
        body = {"query": VERIFY, "variables": {"input": {
            "paymentId": paid["id"], "gatewayPaymentId": paid["gatewayPaymentId"],
            "signature": "0" * 64}}}  # fmt: skip
        answer = await twice.post(body, tokens.mint("cust-p1"), planned=True)
        result = answer.json()["data"]["verifyPayment"]
        assert result["__typename"] == "PaymentSuccess"
        assert result["payment"]["status"] == "COMPLETED"

    @pytest.mark.parametrize(
        ("variables", "typename", "code"),
        [
            (
                {"input": {"orderId": "ORD-PREP-M2", "amount": "-1"}},
                "ValidationError",
                "VALIDATION_ERROR",
            ),
            (
                {"input": {"orderId": "", "amount": "499.00"}},
                "ValidationError",
                "VALIDATION_ERROR",
            ),
        ],
        ids=["negative amount", "empty order id"],
    )
    async def test_user_errors_are_union_members(self, twice, tokens, variables, typename, code):
        answer = await twice.post(
            {"query": INITIATE, "variables": variables}, tokens.mint("cust-p1"), planned=True
        )
        result = answer.json()["data"]["initiatePayment"]
        assert (result["__typename"], result["code"]) == (typename, code)
        assert result["field"]

    async def test_another_amount_for_an_order_that_has_a_payment(self, twice, tokens):
        token = tokens.mint("cust-p1")
        first = await Shopper(twice.http, token).initiate(orderId="ORD-PREP-D1")
        body = {
            "query": INITIATE,
            "variables": {"input": {"orderId": "ORD-PREP-D1", "amount": "500.00"}},
        }
        answer = await twice.post(body, token, planned=True)
        result = answer.json()["data"]["initiatePayment"]
        assert result["__typename"] == "DuplicateOrderError"
        assert result["existingPaymentId"] == first["payment"]["id"]

    async def test_cancel_of_a_missing_payment(self, twice, tokens):
        answer = await twice.post(
            {"query": CANCEL, "variables": {"id": MISSING}}, tokens.mint("cust-p1"), planned=True
        )
        assert answer.json()["data"]["cancelPayment"]["__typename"] == "NotFoundError"

    @pytest.mark.parametrize("token", ["not-a-jwt", None])
    async def test_without_a_valid_token_the_standard_path_answers_what_the_field_raised(
        self, twice, tokens, token
    ):
        replayed = twice.prepared.replayed
        answer = await twice.post(
            {"query": CANCEL, "variables": {"id": MISSING}}, token, planned=False
        )
        assert answer.json()["data"] is None
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert twice.prepared.replayed > replayed  # the field ran once, from the plan

    async def test_a_new_order_through_the_plan_writes_one_payment_and_one_gateway_order(
        self, twice, tokens, mongo_db
    ):
        shopper = Shopper(twice.http, tokens.mint("cust-p1"))
        for order in ("ORD-PREP-W1", "ORD-PREP-W2"):  # the first sight compiles the plan
            await shopper.initiate(orderId=order)
        sandboxes = Sandboxes(twice.http)
        orders_before = (await sandboxes.razorpay())["counts"]["orders"]
        before = twice.prepared.answered
        result = await shopper.initiate(orderId="ORD-PREP-W3")
        assert twice.prepared.answered == before + 1
        stored = await mongo_db["payment_orders"].find({"order_id": "ORD-PREP-W3"}).to_list()
        assert [doc["gateway_order_id"] for doc in stored] == [result["checkout"]["gatewayOrderId"]]
        assert (await sandboxes.razorpay())["counts"]["orders"] == orders_before + 1


class TestLeftToTheStandardPath:
    @pytest.mark.parametrize(
        "content_type",
        ["text/plain;charset=application/json", "text/plain; profile=application/json"],
    )
    async def test_a_body_whose_media_type_is_not_json_runs_nothing(
        self, twice, tokens, mongo_db, content_type
    ):
        """Strawberry reads a body as JSON by its media type alone: a mutation in any other
        body is refused with 400 and never runs, even when its document has a plan."""
        token = tokens.mint("cust-p1")
        shopper = Shopper(twice.http, token)
        for order in ("ORD-PREP-CT1", "ORD-PREP-CT2"):  # the plan is compiled and used
            await shopper.initiate(orderId=order)
        body = {"query": INITIATE, "variables": {"input": {"orderId": "ORD-PREP-CT3", "amount": "499.00"}}}  # fmt: skip
        answered = twice.prepared.answered
        for _ in range(2):
            answer = await twice.http.post(
                "/graphql",
                content=json.dumps(body),
                headers={**bearer(token), "content-type": content_type},
            )
            assert answer.status_code == 400
            assert answer.json()["errors"][0]["message"] == "Unsupported content type"
        assert twice.prepared.answered == answered
        assert await mongo_db["payment_orders"].count_documents({"order_id": "ORD-PREP-CT3"}) == 0

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
        assert len(refusals) == 3  # once per request, whichever path read it
        assert CARD not in caplog.text

    async def test_a_card_number_in_a_mutations_variable_runs_nothing(
        self, twice, tokens, mongo_db
    ):
        body = {"query": INITIATE, "variables": {"input": {
            "orderId": "ORD-PREP-PAN", "amount": "499.00", "notes": CARD}}}  # fmt: skip
        answer = await twice.post(body, tokens.mint("cust-p1"), planned=False)
        assert answer.json()["errors"][0]["extensions"]["code"] == "PAN_NOT_ACCEPTED"
        assert await mongo_db["payment_orders"].count_documents({"order_id": "ORD-PREP-PAN"}) == 0

    @pytest.mark.parametrize(
        "variables", [{"input": {"orderId": "ORD-PREP-V", "amount": 499}}, {}],
        ids=["a number for a string", "missing"],
    )  # fmt: skip
    async def test_mutation_variables_that_do_not_fit(self, twice, tokens, variables):
        answer = await twice.post(
            {"query": INITIATE, "variables": variables}, tokens.mint("cust-p1"), planned=False
        )
        assert answer.json()["data"] is None
        assert "$input" in answer.json()["errors"][0]["message"]

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

    async def test_two_mutation_fields_in_one_document(self, twice, tokens):
        mutation = """mutation($id: ID!) { a: cancelPayment(id: $id) { __typename }
                                            b: cancelPayment(id: $id) { __typename } }"""
        answer = await twice.post(
            {"query": mutation, "variables": {"id": MISSING}}, tokens.mint("cust-p1"), planned=False
        )
        assert answer.json()["data"]["b"]["__typename"] == "NotFoundError"

    async def test_a_mutation_sent_by_get(self, twice, tokens):
        params = {"query": 'mutation { cancelPayment(id: "%s") { __typename } }' % MISSING}
        answer = await twice.get(params, tokens.mint("cust-p1"), planned=False)
        assert answer.is_error

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


_bumps: list[int] = []


@strawberry.type
class _Bumped:
    count: int

    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("a bug below the mutation")


@strawberry.type
class _Bump:
    @strawberry.mutation
    def bump(self) -> _Bumped:
        _bumps.append(1)
        return _Bumped(count=len(_bumps))


@strawberry.interface
class _Named:
    name: str


@strawberry.type
class _Thing(_Named):
    pass


@strawberry.type
class _Things:
    @strawberry.field
    def named(self) -> _Named:
        return _Thing(name="x")


_failures: list[int] = []


@strawberry.type
class _Failing:
    @strawberry.mutation
    def fail(self) -> int:
        _failures.append(1)
        raise RuntimeError("a bug in the mutation")


def _view(schema: Any) -> httpx.AsyncClient:
    """The GraphQL view alone over ASGI (no services: these schemas use none)."""
    view = PaygraphGraphQL(schema, services=None, development=False)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=view), base_url="http://test")


class TestUnexpectedErrors:
    async def test_a_mutation_that_raised_is_reported_once_as_its_resolver_raised_it(self, caplog):
        """The plan runs the field once; the standard path answers from what it raised, and
        logs it as it logs a first sight: one record, its traceback ending in the resolver,
        with none of the plan's frames or the Replay that carried it."""
        mutation = {"query": "mutation { fail }"}
        async with _view(build_schema(_Broken, _Failing)) as http:
            answers, records = [], []
            for _ in range(3):  # the first sight compiles the plan, which runs the next two
                ran = len(_failures)
                caplog.clear()
                with caplog.at_level(logging.ERROR, logger="paygraph"):
                    answers.append(await http.post("/graphql", json=mutation))
                assert len(_failures) == ran + 1  # once per request
                [record] = [r for r in caplog.records if r.exc_info]
                records.append(record)
        assert {a.content for a in answers} == {
            b'{"data":null,"errors":[{"message":"Unexpected error.","locations":[{"line":1,"column":12}],"path":["fail"],"extensions":{"code":"INTERNAL_ERROR"}}]}'
        }
        assert all(a.status_code == 200 for a in answers)
        first, *replayed = (
            "".join(traceback.format_exception(*r.exc_info))  # type: ignore[misc]
            for r in records
        )
        for text in replayed:
            assert "Replay" not in text and "During handling" not in text
            assert "/resolvers/plans.py" not in text
            assert text.splitlines()[-3:] == first.splitlines()[-3:]
        assert records[0].getMessage() == records[2].getMessage() == "unexpected error in fail"

    async def test_a_body_whose_media_type_is_not_json_does_not_reach_a_mutations_plan(self):
        document = {"query": "mutation { bump { count } }"}
        async with _view(build_schema(_Broken, _Bump)) as http:
            for _ in range(2):  # the plan is compiled, then used
                assert (await http.post("/graphql", json=document)).status_code == 200
            ran = len(_bumps)
            answer = await http.post(
                "/graphql",
                content=json.dumps(document),
                headers={"content-type": "text/plain;charset=application/json"},
            )
        assert answer.status_code == 400
        assert len(_bumps) == ran

    async def test_a_mutation_runs_once_and_a_bug_below_it_is_the_standard_paths_to_report(self):
        schema = build_schema(_Broken, _Bump)
        prepared = PreparedOperations(schema)
        ran = len(_bumps)
        fine = prepared.plan("mutation { bump { count } }", None) or prepared.plan(
            "mutation { bump { count } }", None
        )
        assert fine is not None and fine.mutation
        answer = await prepared.run(fine, None, None, context=None)
        assert answer.body == b'{"data":{"bump":{"count":%d}}}' % (ran + 1)

        document = "mutation { bump { count broken } }"
        assert prepared.plan(document, None) is None  # first sight: the standard path
        plan = prepared.plan(document, None)
        assert plan is not None
        with pytest.raises(Replay) as replay:
            await prepared.run(plan, None, None, context=None)
        assert len(_bumps) == ran + 2
        with prepared.replaying(replay.value):
            result = await schema.execute(document)
        assert len(_bumps) == ran + 2  # answered from the outcome, not run again
        assert result.data is None
        assert [error.message for error in result.errors or []] == ["Unexpected error."]
        again = await schema.execute(document)  # outside a replay the field runs as always
        assert len(_bumps) == ran + 3
        assert again.errors is not None

    async def test_a_field_typed_by_an_interface_is_not_prepared(self):
        prepared = PreparedOperations(build_schema(_Things))
        assert prepared.plan("{ named { name } }", None) is None
        assert prepared.plan("{ named { name } }", None) is None

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

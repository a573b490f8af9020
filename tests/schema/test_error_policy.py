"""The schema's error policy: domain errors keep their code, surprises are masked and logged."""

from __future__ import annotations

import logging

import pytest
import strawberry
from pymongo.errors import AutoReconnect, ServerSelectionTimeoutError
from redis.exceptions import AuthenticationError as RedisAuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from models.errors import NotFound
from schema import Limits, build_schema


@strawberry.type
class _Query:
    @strawberry.field
    def missing(self) -> str:
        raise NotFound("payment not found", field="id")

    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("connection string mongodb://user:pw@db leaked")

    @strawberry.field
    def fine(self) -> str:
        return "ok"

    @strawberry.field
    def down(self, kind: str) -> str:
        raise {
            "mongo": AutoReconnect("db-7.internal:27017: connection closed"),
            "selection": ServerSelectionTimeoutError("db-7.internal:27017: timed out"),
            "redis": RedisConnectionError("Error 111 connecting to cache-3.internal:6379"),
            "password": RedisAuthenticationError("invalid username-password pair"),
        }[kind]

    @strawberry.field
    def echo(self, item: _Item, count: int = 1) -> str:
        return item.key * count


@strawberry.input
class _Item:
    key: strawberry.ID


class TestErrorPolicy:
    async def test_domain_error_keeps_message_and_code(self):
        result = await build_schema(_Query).execute("{ missing }")
        error = result.errors[0].formatted
        assert error["message"] == "payment not found"
        assert error["extensions"] == {"code": "NOT_FOUND", "field": "id"}

    async def test_unexpected_error_is_masked_and_logged(self, caplog):
        with caplog.at_level(logging.ERROR, logger="paygraph.graphql"):
            result = await build_schema(_Query).execute("{ broken fine }")
        error = result.errors[0].formatted
        assert error["message"] == "Unexpected error."
        assert error["extensions"] == {"code": "INTERNAL_ERROR"}
        assert "leaked" not in str(result.errors)
        assert result.data == {"broken": None, "fine": "ok"} or result.data is None
        assert "unexpected error in broken" in caplog.text

    @pytest.mark.parametrize(
        ("kind", "raised"),
        [
            ("mongo", "AutoReconnect"),
            ("selection", "ServerSelectionTimeoutError"),
            ("redis", "ConnectionError"),
        ],
    )
    async def test_an_outage_says_repeat_the_request_and_is_a_warning(self, caplog, kind, raised):
        with caplog.at_level(logging.INFO, logger="paygraph.graphql"):
            result = await build_schema(_Query).execute(
                "query($kind: String!) { down(kind: $kind) }", variable_values={"kind": kind}
            )
        error = result.errors[0].formatted
        assert error["message"] == "The payment service is briefly unavailable; repeat the request."
        assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
        assert "internal" not in str(result.errors)
        assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
            (logging.WARNING, f"service unavailable in down: {raised}")
        ]

    async def test_a_wrong_redis_password_is_no_outage(self, caplog):
        with caplog.at_level(logging.INFO, logger="paygraph.graphql"):
            result = await build_schema(_Query).execute('{ down(kind: "password") }')
        assert result.errors[0].formatted["extensions"] == {"code": "INTERNAL_ERROR"}
        assert [r.levelno for r in caplog.records] == [logging.ERROR]

    @pytest.mark.parametrize(
        ("variables", "named"),
        [
            ({"item": {}}, "key"),  # a required input field left out
            ({"item": {"key": "a"}, "count": "three"}, "count"),  # a value of the wrong type
        ],
    )
    async def test_variables_that_do_not_fit_are_the_clients_to_read(self, variables, named):
        query = "query($item: Item!, $count: Int) { echo(item: $item, count: $count) }"
        result = await build_schema(_Query).execute(query, variable_values=variables)
        assert result.data is None
        assert named in result.errors[0].message
        assert result.errors[0].message != "Unexpected error."

    async def test_domain_errors_are_not_logged_as_failures(self, caplog):
        with caplog.at_level(logging.ERROR, logger="paygraph.graphql"):
            await build_schema(_Query).execute("{ missing }")
        assert caplog.text == ""


class TestIntrospection:
    async def test_allowed_outside_production(self):
        result = await build_schema(_Query).execute("{ __schema { queryType { name } } }")
        assert result.errors is None

    async def test_disabled_in_production(self):
        schema = build_schema(_Query, limits=Limits(introspection=False))
        result = await schema.execute("{ __schema { queryType { name } } }")
        assert result.errors and "introspection" in result.errors[0].message.lower()
        assert (await schema.execute("{ fine }")).data == {"fine": "ok"}


class TestDocumentChecks:
    async def test_a_repeated_query_is_parsed_validated_and_scanned_once(self, monkeypatch):
        import schema.extensions as extensions

        calls = {"parse": 0, "validate": 0, "literals": 0}

        def counting(name, function):
            def counted(*args, **kwargs):
                calls[name] += 1
                return function(*args, **kwargs)

            return counted

        monkeypatch.setattr(extensions, "parse", counting("parse", extensions.parse))
        monkeypatch.setattr(
            extensions, "validate_document", counting("validate", extensions.validate_document)
        )
        monkeypatch.setattr(
            extensions, "literal_findings", counting("literals", extensions.literal_findings)
        )
        schema = build_schema(_Query)
        for _ in range(5):
            assert (await schema.execute("{ fine }")).data == {"fine": "ok"}
        assert calls == {"parse": 1, "validate": 1, "literals": 1}

    async def test_the_cache_is_bounded(self):
        schema = build_schema(_Query, limits=Limits(document_cache_size=2))
        for alias in ("a", "b", "c"):
            assert (await schema.execute(f"{{ {alias}: fine }}")).data == {alias: "ok"}
        assert len(schema.checks._by_text) == 2

    async def test_too_many_tokens_is_refused(self):
        schema = build_schema(_Query, limits=Limits(max_tokens=5))
        result = await schema.execute("{ a: fine b: fine c: fine }")
        assert result.data is None
        assert result.errors and "token" in result.errors[0].message.lower()

    async def test_a_syntax_error_is_the_clients_to_read(self):
        result = await build_schema(_Query).execute("{ fine ")
        assert result.data is None
        assert result.errors and "Syntax Error" in result.errors[0].message

    async def test_limits_still_apply_with_shared_rules(self):
        schema = build_schema(_Query, limits=Limits(max_aliases=2))
        result = await schema.execute("{ a: fine b: fine c: fine }")
        assert result.errors and "aliases" in result.errors[0].message.lower()

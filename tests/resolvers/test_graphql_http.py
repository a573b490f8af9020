"""GraphQL over HTTP against the real app served by uvicorn."""

from __future__ import annotations

import time

import jwt

VIEWER = "query { viewer { customerId roles } }"


def error_codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


class TestViewer:
    async def test_returns_the_customer_of_the_token(self, gql, tokens):
        body = await gql.execute(VIEWER, token=tokens.mint("cust-42"))
        assert body == {"data": {"viewer": {"customerId": "cust-42", "roles": ["CUSTOMER"]}}}

    async def test_admin_token_carries_both_roles(self, gql, tokens):
        body = await gql.execute(VIEWER, token=tokens.mint("ops-1", admin=True))
        assert sorted(body["data"]["viewer"]["roles"]) == ["ADMIN", "CUSTOMER"]


class TestUnauthenticated:
    async def test_missing_token(self, gql):
        body = await gql.execute(VIEWER)
        assert body["data"] is None
        assert error_codes(body) == ["UNAUTHENTICATED"]
        assert "missing" in body["errors"][0]["message"]

    async def test_malformed_token(self, gql):
        body = await gql.execute(VIEWER, token="not-a-jwt")
        assert error_codes(body) == ["UNAUTHENTICATED"]

    async def test_not_a_bearer_scheme(self, client):
        response = await client.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": "Basic dXNlcjpwYXNz"}
        )
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]

    async def test_expired_token(self, gql, tokens):
        body = await gql.execute(VIEWER, token=tokens.mint("cust-1", ttl_seconds=-120))
        assert error_codes(body) == ["UNAUTHENTICATED"]
        assert "expired" in body["errors"][0]["message"]

    async def test_token_signed_with_another_secret(self, gql):
        forged = jwt.encode(
            {"sub": "cust-1", "roles": ["admin"], "exp": int(time.time()) + 60},
            "another-secret-of-sufficient-length-000000",
            algorithm="HS256",
        )
        body = await gql.execute(VIEWER, token=forged)
        assert error_codes(body) == ["UNAUTHENTICATED"]

    async def test_unsigned_alg_none_token(self, gql):
        unsigned = jwt.encode(
            {"sub": "cust-1", "roles": ["admin"], "exp": int(time.time()) + 60},
            key=None,
            algorithm="none",
        )
        body = await gql.execute(VIEWER, token=unsigned)
        assert error_codes(body) == ["UNAUTHENTICATED"]


class TestTransportErrors:
    async def test_malformed_json_gets_a_graphql_shaped_400(self, client):
        response = await client.post(
            "/graphql", content=b'{"query": ', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        body = response.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "Traceback" not in response.text

    async def test_body_over_one_megabyte_gets_413(self, client):
        query = "query { viewer { customerId } }" + " " * (1024 * 1024)
        response = await client.post("/graphql", json={"query": query})
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def test_chunked_body_over_the_limit_gets_413(self, client):
        async def chunks():
            for _ in range(20):
                yield b"x" * 65536

        response = await client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413

    async def test_request_id_is_echoed(self, client):
        response = await client.get("/healthz", headers={"X-Request-ID": "req-123"})
        assert response.headers["x-request-id"] == "req-123"

    async def test_an_unusable_request_id_is_replaced(self, client):
        response = await client.get("/healthz", headers={"X-Request-ID": "no spaces; allowed"})
        assert len(response.headers["x-request-id"]) == 32

    async def test_a_refused_body_still_has_a_request_id_and_is_counted(self, client):
        async def counted() -> float:
            return await _sample(client, 'route="/graphql",status="413"')

        before = await counted()
        response = await client.post(
            "/graphql",
            json={"query": " " * (1024 * 1024)},
            headers={"X-Request-ID": "req-413", "Origin": "http://localhost:5173"},
        )
        assert response.status_code == 413
        assert response.headers["x-request-id"] == "req-413"
        assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert await counted() == before + 1


class TestQueryLimits:
    async def test_too_many_aliases_are_refused(self, gql, tokens):
        aliases = " ".join(f"a{i}: viewer {{ customerId }}" for i in range(20))
        body = await gql.execute(f"query {{ {aliases} }}", token=tokens.mint("c"))
        assert body.get("data") is None
        assert "aliases" in body["errors"][0]["message"].lower()

    async def test_too_deep_a_query_is_refused(self, gql, tokens):
        deep = (
            "query { "
            + "__schema { types { fields { type { ofType { " * 3
            + "name"
            + " }" * 15
            + " }"
        )
        body = await gql.execute(deep, token=tokens.mint("c"))
        assert body.get("data") is None
        assert body["errors"]

    async def test_too_many_tokens_are_refused(self, gql, tokens):
        fields = " ".join("customerId" for _ in range(2500))
        body = await gql.execute(f"query {{ viewer {{ {fields} }} }}", token=tokens.mint("c"))
        assert body.get("data") is None
        assert "token" in body["errors"][0]["message"].lower()


class TestGraphiQL:
    async def test_served_in_development_and_test(self, client):
        response = await client.get("/graphql", headers={"Accept": "text/html"})
        assert response.status_code == 200
        assert "graphiql" in response.text.lower()


class TestProduction:
    async def test_no_graphiql_no_get_no_introspection(self, settings, _mongo_database, tokens):
        import httpx
        from cryptography.fernet import Fernet

        from app import create_app
        from settings import AppEnv
        from tests.support.server import serve

        production = settings.model_copy(
            update={
                "app_env": AppEnv.PRODUCTION,
                "encryption_keys": Fernet.generate_key().decode(),
                "razorpay_key_id": "rzp_live_x",
                "razorpay_key_secret": "secret",
            }
        )
        async with serve(create_app(production)) as running:
            async with httpx.AsyncClient(base_url=running.url) as http:
                ide = await http.get("/graphql", headers={"Accept": "text/html"})
                via_get = await http.get("/graphql", params={"query": "{ viewer { customerId } }"})
                headers = {"Authorization": f"Bearer {tokens.mint('c')}"}
                introspection = await http.post(
                    "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=headers
                )
                viewer = await http.post("/graphql", json={"query": VIEWER}, headers=headers)
        assert "graphiql" not in ide.text.lower()
        assert via_get.status_code >= 400
        assert introspection.json()["errors"]
        assert viewer.json()["data"]["viewer"]["customerId"] == "c"


async def _sample(client, labels: str) -> float:
    """The value of paygraph_http_requests_total with these labels, from /metrics."""
    text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("paygraph_http_requests_total{") and labels in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0

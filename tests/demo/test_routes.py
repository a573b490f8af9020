"""The demo's HTTP surface: the static page, the development token endpoint and the PayPal return
paths exist in development and test only; production answers 404 for all of them."""

from __future__ import annotations

import pytest

VIEWER = "{ viewer { customerId roles } }"


async def mint(client, body, **headers):
    return await client.post("/demo/token", json=body, headers=headers)


class TestPage:
    async def test_the_page_and_its_modules_are_served(self, client):
        redirect = await client.get("/demo")
        assert redirect.status_code == 307 and redirect.headers["location"] == "/demo/"
        page = await client.get("/demo/")
        assert page.status_code == 200
        assert '<script type="module" src="app.js"></script>' in page.text
        for name in ("app.js", "graphql.js", "checks.js", "dom.js", "events.js"):
            module = await client.get(f"/demo/{name}")
            assert module.status_code == 200
            assert "javascript" in module.headers["content-type"]
        assert (await client.get("/demo/styles.css")).headers["content-type"].startswith("text/css")

    async def test_paypal_return_paths_lead_back_to_the_page(self, client):
        approved = await client.get(
            "/checkout/success", params={"token": "5O190127TN364715T", "PayerID": "X"}
        )
        assert approved.status_code == 303
        assert approved.headers["location"] == "/demo/?paypal=approved&token=5O190127TN364715T"
        cancelled = await client.get("/checkout/cancel", params={"token": "5O190127TN364715T"})
        assert cancelled.headers["location"] == "/demo/?paypal=cancelled&token=5O190127TN364715T"


class TestDevelopmentToken:
    @pytest.mark.parametrize("admin", [False, True])
    async def test_mints_a_short_lived_token_the_api_accepts(self, client, gql, admin):
        response = await mint(client, {"customerId": "shopper-7", "admin": admin})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["customerId"] == "shopper-7" and body["expiresIn"] == 3600
        viewer = (await gql.execute(VIEWER, token=body["token"]))["data"]["viewer"]
        assert viewer["customerId"] == "shopper-7"
        assert sorted(viewer["roles"]) == (["ADMIN", "CUSTOMER"] if admin else ["CUSTOMER"])

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"customerId": ""},
            {"customerId": "has space"},
            {"customerId": "x" * 65},
            {"customerId": 7},
            {"customerId": "ok", "admin": "yes"},
            ["customerId"],
        ],
    )
    async def test_bad_bodies_are_refused(self, client, body):
        response = await mint(client, body)
        assert response.status_code == 400
        assert "token" not in response.json()

    async def test_only_json(self, client):
        response = await client.post(
            "/demo/token", content=b"customerId=a", headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 415

    async def test_another_origin_is_refused(self, client):
        response = await mint(client, {"customerId": "a"}, Origin="https://evil.example")
        assert response.status_code == 403
        same = await mint(client, {"customerId": "a"}, Origin=str(client.base_url).rstrip("/"))
        assert same.status_code == 200

    async def test_a_shops_dev_server_on_the_allowed_origins_gets_a_token(self, client):
        # CORS_ALLOW_ORIGINS (outside production, the usual local dev-server ports by default).
        shop = await mint(client, {"customerId": "a"}, Origin="http://localhost:5173")
        assert shop.status_code == 200
        assert shop.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert shop.json()["token"]


class TestProduction:
    async def test_nothing_of_the_demo_exists(self, settings, _mongo_database):
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
        paths = ("/demo", "/demo/", "/demo/app.js", "/checkout/success", "/favicon.ico")
        async with (
            serve(create_app(production)) as running,
            httpx.AsyncClient(base_url=running.url) as http,
        ):
            token = await http.post("/demo/token", json={"customerId": "a", "admin": True})
            pages = [await http.get(path) for path in paths]
        assert token.status_code == 404
        assert "token" not in token.text
        assert [page.status_code for page in pages] == [404] * len(paths)

"""Trusted documents over real HTTP and WebSocket: documents named by hash (documentId and
Apollo's persistedQuery) from a manifest made of the React package's plus one of the test's,
TRUSTED_DOCUMENTS_ONLY, and a manifest that cannot be trusted stopping startup."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from app import create_app
from resolvers.trusted_documents import TrustedDocuments
from settings import ConfigurationError, Settings, load_settings
from tests.support.server import RunningServer, serve

ROOT = Path(__file__).resolve().parents[2]
VIEWER = "query Viewer { viewer { customerId roles } }"
# From web/persisted-documents.json: the React package's operations.
CHECKOUT_OPTIONS = "4ac1dd42f87fc3293e9a1be5a17c9a03bbc2919390c5f94fd8d0d66996638924"
PAYMENT = "895148a2092c00909044db14a46557493bae715b2131cf3e6e36fb99352b7b18"
UNKNOWN = "0" * 64
CARD = "4111 1111 1111 1111"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


@pytest.fixture(scope="module")
def documents() -> dict[str, str]:
    """The manifest: web/persisted-documents.json and the test's viewer query, by bare hex."""
    web = json.loads((ROOT / "web" / "persisted-documents.json").read_text())
    manifest = {key.removeprefix("sha256:"): text for key, text in web.items()}
    manifest[sha256(VIEWER)] = VIEWER
    return manifest


@pytest.fixture(scope="module")
def manifest_path(documents: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trusted") / "persisted-documents.json"
    path.write_text(json.dumps({f"sha256:{key}": text for key, text in documents.items()}))
    return path


async def _serve(settings: Settings, **update: Any) -> AsyncIterator[RunningServer]:
    async with serve(create_app(settings.model_copy(update=update))) as running:
        yield running


@pytest.fixture(scope="module")
async def trusted_server(
    settings: Settings, _mongo_database: Any, manifest_path: Path
) -> AsyncIterator[RunningServer]:
    async for running in _serve(settings, trusted_documents_path=manifest_path):
        yield running


@pytest.fixture(scope="module")
async def only_server(
    settings: Settings, _mongo_database: Any, manifest_path: Path
) -> AsyncIterator[RunningServer]:
    async for running in _serve(
        settings, trusted_documents_path=manifest_path, trusted_documents_only=True
    ):
        yield running


@pytest.fixture
async def http(trusted_server: RunningServer, mongo_db: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=trusted_server.url, timeout=10) as client:
        yield client


@pytest.fixture
async def only_http(only_server: RunningServer, mongo_db: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=only_server.url, timeout=10) as client:
        yield client


def by_document_id(digest: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"documentId": f"sha256:{digest}", "variables": variables}


def by_apollo_hash(digest: str, variables: dict[str, Any]) -> dict[str, Any]:
    persisted = {"version": 1, "sha256Hash": digest}
    return {"extensions": {"persistedQuery": persisted}, "variables": variables}


CASES = [
    pytest.param(sha256(VIEWER), {}, id="viewer"),
    pytest.param(CHECKOUT_OPTIONS, {"currency": "INR", "amount": "500.00"}, id="checkout-options"),
    pytest.param(PAYMENT, {"id": "507f1f77bcf86cd799439011"}, id="payment-not-found"),
    pytest.param(PAYMENT, {"id": CARD}, id="card-number-in-a-variable"),
]


class TestByHash:
    @pytest.mark.parametrize("named", [by_document_id, by_apollo_hash])
    @pytest.mark.parametrize(("digest", "variables"), CASES)
    async def test_answers_byte_for_byte_as_the_full_document(
        self, http, tokens, documents, named, digest, variables
    ):
        headers = {"Authorization": f"Bearer {tokens.mint('cust-trusted')}"}
        full = await http.post(
            "/graphql",
            json={"query": documents[digest], "variables": variables},
            headers=headers,
        )
        hashed = await http.post("/graphql", json=named(digest, variables), headers=headers)
        assert hashed.status_code == full.status_code
        assert hashed.content == full.content
        assert "errors" not in full.json() or digest == PAYMENT

    async def test_a_card_number_sent_by_hash_is_still_refused(self, http, tokens):
        headers = {"Authorization": f"Bearer {tokens.mint('cust-trusted')}"}
        response = await http.post(
            "/graphql", json=by_document_id(PAYMENT, {"id": CARD}), headers=headers
        )
        assert response.json()["data"] is None
        assert codes(response) == ["PAN_NOT_ACCEPTED"]
        assert "4111" not in response.text

    @pytest.mark.parametrize("named", [by_document_id, by_apollo_hash])
    async def test_get_by_hash_works_outside_production(self, http, tokens, documents, named):
        headers = {"Authorization": f"Bearer {tokens.mint('cust-get')}"}
        variables = {"currency": "INR"}
        params = {
            key: json.dumps(value) if isinstance(value, dict) else value
            for key, value in named(CHECKOUT_OPTIONS, variables).items()
        }
        full_params = {"query": documents[CHECKOUT_OPTIONS], "variables": json.dumps(variables)}
        full = await http.get("/graphql", params=full_params, headers=headers)
        hashed = await http.get("/graphql", params=params, headers=headers)
        assert full.status_code == hashed.status_code == 200
        assert hashed.content == full.content
        assert hashed.json()["data"]["supportedMethods"]

    @pytest.mark.parametrize("named", [by_document_id, by_apollo_hash])
    async def test_an_unknown_hash_is_apollos_persisted_query_not_found(self, http, named):
        response = await http.post("/graphql", json=named(UNKNOWN, {}))
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]

    async def test_full_documents_still_run_without_only(self, http, tokens):
        headers = {"Authorization": f"Bearer {tokens.mint('cust-full')}"}
        response = await http.post("/graphql", json={"query": VIEWER}, headers=headers)
        assert response.json()["data"]["viewer"]["customerId"] == "cust-full"


class TestOnly:
    async def test_a_full_document_is_refused(self, only_http, tokens):
        headers = {"Authorization": f"Bearer {tokens.mint('cust-only')}"}
        response = await only_http.post("/graphql", json={"query": VIEWER}, headers=headers)
        assert response.status_code == 400
        assert codes(response) == ["TRUSTED_DOCUMENTS_ONLY"]
        assert "documentId" in response.json()["errors"][0]["message"]

    async def test_a_full_document_with_its_hash_is_refused(self, only_http):
        body = {**by_apollo_hash(sha256(VIEWER), {}), "query": VIEWER}
        response = await only_http.post("/graphql", json=body)
        assert codes(response) == ["TRUSTED_DOCUMENTS_ONLY"]

    async def test_documents_named_by_hash_run(self, only_http, tokens):
        headers = {"Authorization": f"Bearer {tokens.mint('cust-only')}"}
        response = await only_http.post(
            "/graphql", json=by_document_id(sha256(VIEWER), {}), headers=headers
        )
        assert response.json() == {
            "data": {"viewer": {"customerId": "cust-only", "roles": ["CUSTOMER"]}}
        }

    async def test_an_empty_query_beside_a_hash_is_no_text(self, only_http, tokens):
        """graphql-ws clients must send a `query` string: an empty one names nothing."""
        headers = {"Authorization": f"Bearer {tokens.mint('cust-only')}"}
        body = {**by_document_id(sha256(VIEWER), {}), "query": ""}
        response = await only_http.post("/graphql", json=body, headers=headers)
        assert response.json()["data"]["viewer"]["customerId"] == "cust-only"

    async def test_an_unknown_hash_is_not_found(self, only_http):
        response = await only_http.post("/graphql", json=by_document_id(UNKNOWN, {}))
        assert response.status_code == 400
        assert codes(response) == ["PERSISTED_QUERY_NOT_FOUND"]

    async def test_websocket_subscribe_follows_the_same_rule(self, only_server, tokens, mongo_db):
        url = only_server.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            init = {"Authorization": f"Bearer {tokens.mint('ws-only')}"}
            await ws.send(json.dumps({"type": "connection_init", "payload": init}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": VIEWER}})
            )
            refused = json.loads(await ws.recv())
            await ws.send(
                json.dumps({"id": "2", "type": "subscribe", "payload": {"documentId": UNKNOWN}})
            )
            unknown = json.loads(await ws.recv())
            named = {"documentId": f"sha256:{sha256(VIEWER)}"}
            await ws.send(json.dumps({"id": "3", "type": "subscribe", "payload": named}))
            served = json.loads(await ws.recv())
        assert refused["id"] == "1"
        assert refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "TRUSTED_DOCUMENTS_ONLY"
        assert unknown["type"] == "error"
        assert unknown["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        assert served == {
            "id": "3",
            "type": "next",
            "payload": {"data": {"viewer": {"customerId": "ws-only", "roles": ["CUSTOMER"]}}},
        }


class TestStartup:
    @pytest.mark.parametrize(
        ("content", "reason"),
        [
            (json.dumps({f"sha256:{UNKNOWN}": VIEWER}), "does not match"),
            (json.dumps({f"sha256:{sha256(VIEWER)}": VIEWER + " "}), "does not match"),
            ('{"sha256:', "cannot read"),
            ("[]", "not a JSON object"),
            (json.dumps({f"sha256:{sha256(VIEWER)}": 7}), "not a document"),
        ],
    )
    def test_a_manifest_that_cannot_be_trusted_stops_startup(
        self, settings, tmp_path, content, reason
    ):
        path = tmp_path / "manifest.json"
        path.write_text(content)
        with pytest.raises(ConfigurationError, match="TRUSTED_DOCUMENTS_PATH") as refused:
            create_app(settings.model_copy(update={"trusted_documents_path": path}))
        assert reason in str(refused.value)

    def test_a_missing_manifest_stops_startup(self, settings, tmp_path):
        missing = tmp_path / "absent.json"
        with pytest.raises(ConfigurationError, match="TRUSTED_DOCUMENTS_PATH"):
            create_app(settings.model_copy(update={"trusted_documents_path": missing}))

    def test_only_needs_a_manifest(self, monkeypatch):
        monkeypatch.setenv("TRUSTED_DOCUMENTS_ONLY", "true")
        with pytest.raises(ConfigurationError, match="TRUSTED_DOCUMENTS_PATH"):
            load_settings(_env_file=None)

    def test_the_react_manifest_loads(self):
        path = ROOT / "web" / "persisted-documents.json"
        assert len(TrustedDocuments.load(path)) == len(json.loads(path.read_text()))

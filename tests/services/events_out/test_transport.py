"""SSRF refusals in production (at registration and, after DNS resolution, at delivery), and
what one attempt reads of an answer. No test traffic leaves the loopback interface: public
hosts are names a fake resolver answers, never connected to."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from models.errors import ValidationFailed
from services.events_out.transport import UrlPolicy, WebhookSender, is_public
from tests.support.server import serve

PUBLIC = "93.184.215.14"


def fake_dns(answers: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        if host in answers:
            return answers[host]
        raise OSError("no such host")

    return resolve


class TestAddresses:
    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "169.254.169.254",  # cloud metadata
            "100.100.100.200",  # Alibaba's metadata (shared address space)
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",  # AWS metadata over IPv6
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ],
    )
    def test_not_public(self, address):
        assert not is_public(address)

    def test_public(self):
        assert is_public(PUBLIC) and is_public("2606:4700:4700::1111")


class TestRegistrationInProduction:
    policy = UrlPolicy(
        public_only=True,
        resolver=fake_dns(
            {
                "hooks.shop.example": [PUBLIC],
                "internal.shop.example": ["10.0.0.7"],
                "mixed.shop.example": [PUBLIC, "127.0.0.1"],
                "localhost": ["127.0.0.1", "::1"],
                "169.254.169.254": ["169.254.169.254"],
                "127.0.0.1": ["127.0.0.1"],
            }
        ),
    )

    async def test_an_https_url_on_a_public_host_is_accepted(self):
        await self.policy.check_url("https://hooks.shop.example/paygraph")

    @pytest.mark.parametrize(
        "url",
        [
            "http://hooks.shop.example/paygraph",  # not https
            "https://localhost/hooks",
            "https://127.0.0.1:8443/hooks",
            "https://169.254.169.254/latest/meta-data/",
            "https://internal.shop.example/hooks",
            "https://mixed.shop.example/hooks",  # one private answer is enough
            "https://nowhere.shop.example/hooks",  # does not resolve
            "https://user:pw@hooks.shop.example/hooks",
            "ftp://hooks.shop.example/",
            "not a url",
        ],
    )
    async def test_refused(self, url):
        with pytest.raises(ValidationFailed) as refused:
            await self.policy.check_url(url)
        assert refused.value.field == "url"

    async def test_outside_production_loopback_http_is_allowed(self):
        await UrlPolicy(public_only=False).check_url("http://127.0.0.1:3000/hooks")


@pytest.fixture
async def local_server():
    hits: list[str] = []

    async def ok(request):
        hits.append(request.url.path)
        return Response("x" * 100_000)

    async def moved(request):
        hits.append(request.url.path)
        return RedirectResponse("/ok", status_code=307)

    app = Starlette(
        routes=[Route("/ok", ok, methods=["POST"]), Route("/moved", moved, methods=["POST"])]
    )
    async with serve(app) as running:
        yield running.url, hits


class TestDelivery:
    async def test_a_name_that_now_resolves_to_loopback_is_refused_unconnected(self, local_server):
        url, hits = local_server
        port = url.rsplit(":", 1)[1]
        # Registered while it resolved to a public address; DNS now answers loopback.
        rebinding = UrlPolicy(
            public_only=True, resolver=fake_dns({"hooks.shop.example": ["127.0.0.1"]})
        )
        sender = WebhookSender(rebinding)
        try:
            sent = await sender.post(f"https://hooks.shop.example:{port}/ok", b"{}", {})
        finally:
            await sender.aclose()
        assert sent.status_code is None and sent.error.startswith("refused")
        assert hits == []

    async def test_http_is_refused_in_production(self, local_server):
        url, hits = local_server
        sender = WebhookSender(UrlPolicy(public_only=True))
        try:
            sent = await sender.post(f"{url}/ok", b"{}", {})
        finally:
            await sender.aclose()
        assert sent.error.startswith("refused") and hits == []

    async def test_a_redirect_is_an_answer_not_followed(self, local_server):
        url, hits = local_server
        sender = WebhookSender(UrlPolicy(public_only=False))
        try:
            sent = await sender.post(f"{url}/moved", b"{}", {})
        finally:
            await sender.aclose()
        assert (sent.status_code, sent.ok, hits) == (307, False, ["/moved"])

    async def test_only_a_short_excerpt_of_the_answer_is_kept(self, local_server):
        url, _ = local_server
        sender = WebhookSender(UrlPolicy(public_only=False), body_limit=4096, excerpt_chars=256)
        try:
            sent = await sender.post(f"{url}/ok", b"{}", {})
        finally:
            await sender.aclose()
        assert sent.ok and sent.excerpt == "x" * 256

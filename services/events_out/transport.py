"""Posting one signed event to an endpoint, safely.

SSRF (production): a URL must be https, and every address its host resolves to must be public:
loopback, private, link-local, shared (CGNAT), unique-local, multicast, reserved and the cloud
metadata addresses are refused. It is checked when an endpoint is registered or changed, and
again on every connection: the connection goes to the very address that was checked (a network
backend under httpcore resolves, checks and connects), so a DNS answer that changes after
registration (rebinding) reaches nothing private. TLS still verifies the URL's host name.
Outside production (development, test) any http(s) URL is allowed, loopback included.

Each attempt: one POST, no redirect followed (httpcore never follows one; a 3xx is a failure),
at most `timeout` seconds in all, and at most `body_limit` bytes of the answer read, of which a
short excerpt is kept.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore

from models.errors import ValidationFailed

Resolver = Callable[[str, int], Awaitable[list[str]]]

# Cloud instance metadata services (all already outside the public ranges; named so a reader
# sees them refused on purpose).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


class RefusedAddress(Exception):
    """The URL or an address it resolves to is not allowed for webhooks here."""


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (a literal address resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast and ip not in METADATA_ADDRESSES


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """`public_only` (production): https and public addresses only."""

    public_only: bool
    resolver: Resolver = resolve

    async def check_url(self, url: str) -> None:
        """VALIDATION_ERROR on `url` for a URL that may not receive webhooks."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValidationFailed("url is not a valid URL", field="url") from None
        allowed = ("https",) if self.public_only else ("https", "http")
        if parts.scheme not in allowed or not parts.hostname:
            raise ValidationFailed(
                "url must be an https URL" if self.public_only else "url must be http(s)",
                field="url",
            )
        if parts.username is not None or parts.password is not None:
            raise ValidationFailed("url must not carry credentials", field="url")
        if not self.public_only:
            return
        try:
            await self.check_host(parts.hostname, port or 443)
        except RefusedAddress as refused:
            raise ValidationFailed(str(refused), field="url") from None

    async def check_host(self, host: str, port: int) -> list[str]:
        """The host's addresses, all allowed; RefusedAddress otherwise."""
        try:
            addresses = await self.resolver(host, port)
        except OSError:
            raise RefusedAddress(f"{host} does not resolve") from None
        if not addresses:
            raise RefusedAddress(f"{host} does not resolve")
        if self.public_only:
            private = [a for a in addresses if not is_public(a)]
            if private:
                raise RefusedAddress(
                    f"{host} resolves to a non-public address ({private[0]}): refused"
                )
        return addresses


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects to the checked address (TLS keeps the host name)."""

    def __init__(self, policy: UrlPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._policy.check_host(host, port)
        return await self._inner.connect_tcp(
            addresses[0],
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("unix sockets are not webhook endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Sent:
    """One attempt's outcome: an answer (status and excerpt) or an error, and its duration."""

    status_code: int | None
    excerpt: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    def __init__(
        self,
        policy: UrlPolicy,
        *,
        timeout: float = 15.0,
        body_limit: int = 4096,
        excerpt_chars: int = 256,
        max_connections: int = 100,
    ) -> None:
        self._policy = policy
        self._timeout = timeout
        self._body_limit = body_limit
        self._excerpt_chars = excerpt_chars
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=_GuardedBackend(policy),
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Sent:
        started = time.perf_counter()
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            if self._policy.public_only and urlsplit(url).scheme != "https":
                raise RefusedAddress("only https endpoints are called in production")
            async with asyncio.timeout(self._timeout):
                status, excerpt = await self._post(url, body, headers)
        except RefusedAddress as refused:
            error = f"refused: {refused}"
        except TimeoutError:
            error = f"no answer within {self._timeout:g} s"
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            error = f"{type(exc).__name__}: {exc}"[: self._excerpt_chars]
        except httpcore.UnsupportedProtocol as exc:
            error = f"unsupported URL: {exc}"[: self._excerpt_chars]
        return Sent(status, excerpt, error, int((time.perf_counter() - started) * 1000))

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        timeouts = {"connect": self._timeout, "read": self._timeout, "write": self._timeout}
        async with self._pool.stream(
            "POST",
            url,
            headers=[*headers.items(), ("user-agent", "paygraph-webhooks/1")],
            content=body,
            extensions={"timeout": timeouts},
        ) as response:
            read = bytearray()
            async for chunk in response.aiter_stream():
                read.extend(chunk)
                if len(read) >= self._body_limit:
                    break  # the rest is never read; the connection is dropped with it
        text = bytes(read[: self._body_limit]).decode("utf-8", errors="replace")
        return response.status, text[: self._excerpt_chars]

    async def aclose(self) -> None:
        await self._pool.aclose()

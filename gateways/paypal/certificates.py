"""Self-verification of PayPal webhooks: the transmission signature checked with the signing
certificate PayPal names in PAYPAL-CERT-URL, fetched only from allow-listed hosts and cached
per URL (the alternative to PayPal's verify-webhook-signature call)."""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from gateways.base import Gateway, GatewayUnavailable, WebhookVerificationFailed

PAYPAL = Gateway.PAYPAL


class CertificateVerifier:
    def __init__(
        self, client: httpx.AsyncClient, timeout: httpx.Timeout, *, allowed_hosts: Collection[str]
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._allowed_hosts = allowed_hosts
        self._keys: dict[str, rsa.RSAPublicKey] = {}

    async def verify(self, headers: Mapping[str, str], body: bytes, webhook_id: str) -> None:
        """Check PAYPAL-TRANSMISSION-SIG over `id|time|webhook id|crc32(body)` with the
        certificate's RSA key; raises WebhookVerificationFailed (GatewayUnavailable when the
        certificate cannot be fetched)."""
        if headers["paypal-auth-algo"] != "SHA256withRSA":
            raise WebhookVerificationFailed(PAYPAL, "unexpected PAYPAL-AUTH-ALGO")
        key = await self._signing_key(headers["paypal-cert-url"])
        message = "|".join(
            (
                headers["paypal-transmission-id"],
                headers["paypal-transmission-time"],
                webhook_id,
                str(zlib.crc32(body)),
            )
        ).encode()
        try:
            signature = base64.b64decode(headers["paypal-transmission-sig"], validate=True)
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error) as exc:
            raise WebhookVerificationFailed(PAYPAL, "webhook signature does not match") from exc

    async def _signing_key(self, cert_url: str) -> rsa.RSAPublicKey:
        cached = self._keys.get(cert_url)
        if cached is not None:
            return cached
        parts = urlsplit(cert_url)
        host = parts.hostname or ""
        loopback = host in {"127.0.0.1", "localhost", "::1"}
        # Never fetch a URL the sender chose unless its host is one we trust; plain http
        # only for an allow-listed loopback host (the local sandbox).
        if host not in self._allowed_hosts or not (
            parts.scheme == "https" or (parts.scheme == "http" and loopback)
        ):
            raise WebhookVerificationFailed(PAYPAL, f"certificate host not allowed: {host!r}")
        try:
            response = await self._client.get(cert_url, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise GatewayUnavailable(PAYPAL, f"cannot fetch webhook certificate: {exc}") from exc
        if response.status_code != 200:
            raise GatewayUnavailable(PAYPAL, f"certificate fetch answered {response.status_code}")
        try:
            cert = x509.load_pem_x509_certificate(response.content)
        except ValueError as exc:
            raise WebhookVerificationFailed(PAYPAL, "certificate is not PEM X.509") from exc
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookVerificationFailed(PAYPAL, "certificate key is not RSA")
        now = time.time()
        valid_from = cert.not_valid_before_utc.timestamp()
        if not valid_from <= now <= cert.not_valid_after_utc.timestamp():
            raise WebhookVerificationFailed(PAYPAL, "certificate is not currently valid")
        self._keys[cert_url] = key
        return key

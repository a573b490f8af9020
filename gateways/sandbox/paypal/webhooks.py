"""PayPal's webhooks: PayPal's event envelope with the five PAYPAL-* headers, signed
SHA256withRSA over "<transmission id>|<time>|<webhook id>|<crc32(raw body)>" with a key and a
self-signed certificate generated at start-up (served at /v1/notifications/certs/<id>).
Non-2xx answers are retried from a background task on a compressed schedule (at most 25
attempts), each attempt a new transmission. POST /v1/notifications/verify-webhook-signature
answers SUCCESS only for a transmission this sandbox really sent, with the event unchanged."""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import itertools
import json
import secrets
import uuid
import zlib
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from gateways.sandbox.common.http import Json, compact_json
from gateways.sandbox.common.webhooks import retry
from gateways.sandbox.paypal.state import Sandbox, new_id, now, now_ms


class Signer:
    """The sandbox's webhook signing identity: an RSA key and a self-signed certificate."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert_id = "CERT-" + "-".join(secrets.token_hex(4) for _ in range(3))
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "paypal-sandbox.invalid")])
        moment = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(moment - dt.timedelta(days=1))
            .not_valid_after(moment + dt.timedelta(days=365))
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: bytes) -> str:
        signature = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def verify(self, signature_b64: str, message: bytes) -> bool:
        try:
            signature = base64.b64decode(signature_b64, validate=True)
            self.key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def _signed_message(transmission_id: str, when: str, webhook_id: str, raw: bytes) -> bytes:
    return f"{transmission_id}|{when}|{webhook_id}|{zlib.crc32(raw)}".encode()


def cert_url(sandbox: Sandbox, base: str) -> str:
    return f"{base}/v1/notifications/certs/{sandbox.signer.cert_id}"


def emit(
    sandbox: Sandbox, event_type: str, resource_type: str, resource: Json, summary: str, base: str
) -> None:
    event_id = f"WH-{new_id()}-{new_id()}"
    envelope: Json = {
        "id": event_id,
        "event_version": "1.0",
        "create_time": now_ms(),
        "resource_type": resource_type,
        "resource_version": "2.0",
        "event_type": event_type,
        "summary": summary,
        "resource": resource,
        "links": [
            {
                "href": f"{base}/v1/notifications/webhooks-events/{event_id}",
                "rel": "self",
                "method": "GET",
            },
            {
                "href": f"{base}/v1/notifications/webhooks-events/{event_id}/resend",
                "rel": "resend",
                "method": "POST",
            },
        ],
    }
    sandbox.events_emitted += 1
    if sandbox.webhook_url is None:
        return
    if sandbox.drop_next > 0:
        sandbox.drop_next -= 1
        sandbox.deliveries.append(
            {"event_id": event_id, "event_type": event_type, "outcome": "dropped"}
        )
        return
    if sandbox.reorder_next > 0:
        sandbox.reorder_next -= 1
        sandbox.held.append((envelope, base))
        if sandbox.reorder_next == 0:
            _release_held(sandbox)
        return
    copies = 1
    if sandbox.duplicate_next > 0:
        sandbox.duplicate_next -= 1
        copies = 2
    for copy in range(copies):
        sandbox.outbox.spawn(_deliver(sandbox, envelope, base, start_after=0.02 * copy))


def _release_held(sandbox: Sandbox) -> None:
    held, sandbox.held = sandbox.held, []
    for position, (envelope, base) in enumerate(reversed(held)):
        sandbox.outbox.spawn(_deliver(sandbox, envelope, base, start_after=0.03 * position))


async def _deliver(sandbox: Sandbox, envelope: Json, base: str, start_after: float) -> None:
    url = sandbox.webhook_url
    if url is None:
        return
    if start_after:
        await asyncio.sleep(start_after)
    raw = compact_json(envelope)
    config = sandbox.config
    attempts = itertools.count(1)

    async def attempt() -> bool:
        transmission_id = str(uuid.uuid4())
        when = now()
        sandbox.transmissions[transmission_id] = (raw, when)
        signature = sandbox.signer.sign(
            _signed_message(transmission_id, when, config.webhook_id, raw)
        )
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": when,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": cert_url(sandbox, base),
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }
        record: Json = {
            "event_id": envelope["id"],
            "event_type": envelope["event_type"],
            "transmission_id": transmission_id,
            "attempt": next(attempts),
        }
        result = await sandbox.outbox.post(url, raw, headers)
        if result.error is None:
            record["status"] = result.status
        else:
            record["error"] = result.error
        record["outcome"] = "delivered" if result.ok else "failed"
        sandbox.deliveries.append(record)
        return result.ok

    waits = (
        min(config.webhook_retry_cap, config.webhook_retry_base * 2 ** (n - 1))
        for n in range(1, config.webhook_max_attempts)
    )
    if not await attempt():
        await retry(attempt, waits)


def verifies(sandbox: Sandbox, data: Json) -> bool:
    """Whether `data` (verify-webhook-signature's body) names a transmission this sandbox sent,
    unchanged, signed by its key."""
    stored = sandbox.transmissions.get(data["transmission_id"])
    if stored is None:
        return False
    raw, when = stored
    cert_path = urlsplit(data["cert_url"]).path
    return (
        data["auth_algo"] == "SHA256withRSA"
        and cert_path.endswith(f"/v1/notifications/certs/{sandbox.signer.cert_id}")
        and data["webhook_id"] == sandbox.config.webhook_id
        and data["transmission_time"] == when
        and json.loads(raw) == data["webhook_event"]
        and sandbox.signer.verify(
            data["transmission_sig"],
            _signed_message(data["transmission_id"], when, data["webhook_id"], raw),
        )
    )

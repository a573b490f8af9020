"""Webhook endpoints: registration, changes, removal and secret rotation (admin only).

A secret is shown once, in the answer that made it; it is stored encrypted with the token vault
(ENCRYPTION_KEYS). Rotating puts a new secret first and keeps the previous ones signing until
`ROTATION_OVERLAP` from now, so a shop can deploy the new secret without losing an event.
`paygraph rotate-keys` re-encrypts the stored secrets under the first key
(`rotate_endpoint_secrets`), as it does saved payment tokens, so an older key can be removed
without leaving an endpoint nothing can sign for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId

from models.clock import as_utc, utcnow
from models.errors import EndpointNotFound, InvalidState, ValidationFailed
from models.events_out import Delivery, EndpointSecret, EventType, WebhookEndpoint
from services.crypto import RotationReport, TokenVault, UndecryptableToken
from services.events_out.signing import new_secret
from services.events_out.transport import UrlPolicy
from services.kit import every_row, object_id

ROTATION_OVERLAP = timedelta(hours=24)
_ROTATE_ATTEMPTS = 5
DESCRIPTION_MAX = 200
URL_MAX = 2048


@dataclass(frozen=True, slots=True)
class EndpointChange:
    """What updateWebhookEndpoint changes; None leaves a field as it is."""

    url: str | None = None
    events: Sequence[str] | None = None
    description: str | None = None
    enabled: bool | None = None


class Endpoints:
    def __init__(self, vault: TokenVault, policy: UrlPolicy) -> None:
        self._vault = vault
        self._policy = policy

    async def create(
        self, url: str, events: Sequence[str], description: str | None
    ) -> tuple[WebhookEndpoint, str]:
        await self._check_url(url)
        secret = new_secret()
        endpoint = WebhookEndpoint(
            url=url,
            events=event_types(events),
            description=_description(description),
            secrets=[EndpointSecret(ciphertext=self._vault.encrypt(secret))],
        )
        await endpoint.insert()
        return endpoint, secret

    async def all(self) -> list[WebhookEndpoint]:
        return await WebhookEndpoint.find().sort("created_at").to_list()

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        endpoint = await WebhookEndpoint.get(_endpoint_oid(endpoint_id))
        if endpoint is None:
            raise EndpointNotFound(field="id")
        return endpoint

    async def update(self, endpoint_id: str, change: EndpointChange) -> WebhookEndpoint:
        endpoint = await self.get(endpoint_id)
        fields: dict[str, object] = {"updated_at": utcnow()}
        if change.url is not None:
            await self._check_url(change.url)
            fields["url"] = change.url
        if change.events is not None:
            fields["events"] = [t.value for t in event_types(change.events)]
        if change.description is not None:
            fields["description"] = _description(change.description)
        if change.enabled is not None:
            fields["enabled"] = change.enabled
            if change.enabled:  # a fresh start: five more days before it is disabled again
                fields |= {"disabled_reason": None, "failing_since": None}
        await WebhookEndpoint.get_pymongo_collection().update_one(
            {"_id": endpoint.id}, {"$set": fields}
        )
        return await self.get(endpoint_id)

    async def delete(self, endpoint_id: str) -> PydanticObjectId:
        """Remove the endpoint and its deliveries (jobs still queued for them do nothing)."""
        endpoint = await self.get(endpoint_id)
        assert endpoint.id is not None
        await endpoint.delete()
        await Delivery.find({"endpoint_id": endpoint.id}).delete()
        return endpoint.id

    async def rotate(self, endpoint_id: str) -> tuple[WebhookEndpoint, str]:
        """A new signing secret; the ones in force keep signing for ROTATION_OVERLAP. A
        compare-and-set on the endpoint as read (its `updated_at`), so secrets another writer
        changed meanwhile (`rotate-keys` re-encrypting them) are never written back stale."""
        secret = new_secret()
        for _ in range(_ROTATE_ATTEMPTS):
            endpoint = await self.get(endpoint_id)
            now = utcnow()
            until = now + ROTATION_OVERLAP
            kept = [
                s.model_copy(update={"expires_at": min(as_utc(s.expires_at or until), until)})
                for s in endpoint.secrets
                if s.in_force(now)
            ]
            fresh = EndpointSecret(ciphertext=self._vault.encrypt(secret), created_at=now)
            written = await WebhookEndpoint.get_pymongo_collection().update_one(
                {"_id": endpoint.id, "updated_at": endpoint.updated_at},
                {
                    "$set": {
                        "secrets": [s.model_dump(mode="python") for s in [fresh, *kept]],
                        "updated_at": now,
                    }
                },
            )
            if written.matched_count == 1:
                return await self.get(endpoint_id), secret
        raise InvalidState("the endpoint kept changing while its secret was rotated; try again")

    def signing_secrets(self, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
        """The secrets in force, newest first (UndecryptableToken if a key was removed)."""
        return [self._vault.decrypt(s.ciphertext) for s in endpoint.secrets if s.in_force(now)]

    async def _check_url(self, url: str) -> None:
        if len(url) > URL_MAX:
            raise ValidationFailed(f"url may hold at most {URL_MAX} characters", field="url")
        await self._policy.check_url(url)


async def rotate_endpoint_secrets(vault: TokenVault, *, batch_size: int = 500) -> RotationReport:
    """Re-encrypt every endpoint's signing secrets under the vault's first key. Secrets past
    their expiry sign nothing and are dropped. Each endpoint is a compare-and-set on the
    secrets it was read with, so running twice, or beside the API (a secret rotated
    meanwhile), is safe. An endpoint with a secret in force that no configured key decrypts is
    left as it was and reported."""
    collection = WebhookEndpoint.get_pymongo_collection()
    scanned = rotated = current = changed = 0
    failed: list[str] = []
    now = utcnow()
    async for row in every_row(collection, {"secrets": 1}, batch_size=batch_size):
        scanned += 1
        secrets: list[dict[str, Any]] = row["secrets"]
        in_force = [s for s in secrets if EndpointSecret.model_validate(s).in_force(now)]
        if len(in_force) == len(secrets) and all(
            vault.is_current(s["ciphertext"]) for s in secrets
        ):
            current += 1
            continue
        try:
            rewritten = [{**s, "ciphertext": vault.rotate(s["ciphertext"])} for s in in_force]
        except UndecryptableToken:
            failed.append(str(row["_id"]))
            continue
        result = await collection.update_one(
            {"_id": row["_id"], "secrets": secrets},
            {"$set": {"secrets": rewritten, "updated_at": utcnow()}},
        )
        if result.modified_count == 1:
            rotated += 1
        else:
            changed += 1  # deleted, or its secret rotated, since it was read
    return RotationReport(scanned, rotated, current, changed, failed)


def event_types(names: Sequence[str]) -> list[EventType]:
    """Catalog types by name (docs/events.md); VALIDATION_ERROR on `events` for others."""
    known = {t.value: t for t in EventType}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValidationFailed(
            f"unknown event type {unknown[0]!r} (docs/events.md lists them)", field="events"
        )
    return list(dict.fromkeys(known[name] for name in names))


def _description(text: str | None) -> str | None:
    if text is not None and len(text) > DESCRIPTION_MAX:
        raise ValidationFailed(
            f"description may hold at most {DESCRIPTION_MAX} characters", field="description"
        )
    return text or None


def _endpoint_oid(endpoint_id: str) -> PydanticObjectId:
    return object_id(endpoint_id, otherwise=EndpointNotFound(field="id"))

"""Webhook endpoint secrets under a new encryption key (`rotate_endpoint_secrets`, run by
`paygraph rotate-keys`; the command itself: tests/services/test_saved_methods.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from cryptography.fernet import Fernet

from models.clock import utcnow
from models.events_out import WebhookEndpoint
from services.crypto import TokenVault
from services.events_out.endpoints import Endpoints, rotate_endpoint_secrets
from services.events_out.transport import UrlPolicy

KEY_OLD = Fernet.generate_key().decode()
KEY_NEW = Fernet.generate_key().decode()
URL = "http://127.0.0.1:9/hooks"


def endpoints(*keys: str) -> Endpoints:
    return Endpoints(TokenVault(list(keys)), UrlPolicy(public_only=False))


@contextmanager
def before_the_next_write(meanwhile: Callable[[], Awaitable[None]]) -> Iterator[None]:
    """Runs `meanwhile` once, between a writer's read of an endpoint and its write: just
    before the next update_one on the endpoints (which `meanwhile` makes with the real one)."""
    collection = WebhookEndpoint.get_pymongo_collection()
    update_one = collection.update_one

    async def after_meanwhile(*args: Any, **kwargs: Any) -> Any:
        del collection.update_one
        await meanwhile()
        return await update_one(*args, **kwargs)

    collection.update_one = after_meanwhile  # type: ignore[method-assign]
    try:
        yield
    finally:
        wrote = "update_one" not in vars(collection)
        if not wrote:
            del collection.update_one
    assert wrote, "no write came"


async def raw(mongo_db, endpoint_id) -> dict:
    return await mongo_db["webhook_endpoints"].find_one({"_id": endpoint_id})


class TestRotateEndpointSecrets:
    async def test_secrets_in_force_are_re_encrypted_and_expired_ones_dropped(self, mongo_db):
        old = endpoints(KEY_OLD)
        single, single_secret = await old.create(URL, [], "one secret")
        rotated, _first = await old.create(URL, [], "rotated once")
        rotated, rotated_secret = await old.rotate(str(rotated.id))
        lapsed, _first = await old.create(URL, [], "a secret past its overlap")
        lapsed, lapsed_secret = await old.rotate(str(lapsed.id))
        past = utcnow() - timedelta(minutes=1)
        await mongo_db["webhook_endpoints"].update_one(
            {"_id": lapsed.id}, {"$set": {"secrets.1.expires_at": past}}
        )
        now = utcnow()
        before = {e.id: old.signing_secrets(e, now) for e in await WebhookEndpoint.find().to_list()}
        assert len(before[rotated.id]) == 2 and before[rotated.id][0] == rotated_secret

        report = await rotate_endpoint_secrets(TokenVault([KEY_NEW, KEY_OLD]), batch_size=2)
        assert (report.scanned, report.rotated, report.current) == (3, 3, 0)
        assert (report.changed_meanwhile, report.failed) == (0, [])

        new_only = endpoints(KEY_NEW)
        for endpoint in await WebhookEndpoint.find().to_list():
            # the same secrets, in the same order, now readable with the new key alone
            assert new_only.signing_secrets(endpoint, now) == before[endpoint.id]
        assert before[single.id] == [single_secret]
        assert len((await raw(mongo_db, lapsed.id))["secrets"]) == 1  # the expired one is gone
        kept = (await raw(mongo_db, rotated.id))["secrets"]
        assert kept[0].get("expires_at") is None and kept[1]["expires_at"] is not None
        assert before[lapsed.id] == [lapsed_secret]

        again = await rotate_endpoint_secrets(TokenVault([KEY_NEW]))
        assert (again.scanned, again.rotated, again.current, again.failed) == (3, 0, 3, [])

    async def test_an_endpoint_no_key_decrypts_is_reported_and_left_alone(self, mongo_db):
        endpoint, _ = await endpoints(KEY_OLD).create(URL, [], None)
        stored = await raw(mongo_db, endpoint.id)
        report = await rotate_endpoint_secrets(TokenVault([KEY_NEW]))
        assert (report.scanned, report.rotated, report.failed) == (1, 0, [str(endpoint.id)])
        assert await raw(mongo_db, endpoint.id) == stored

    async def test_a_secret_rotated_meanwhile_is_not_overwritten(self, mongo_db):
        """The write is a compare-and-set on the secrets that were read: an endpoint whose
        secret is rotated through the API between the read and the write is counted, not
        written over with the older list."""
        endpoint, _ = await endpoints(KEY_OLD).create(URL, [], None)
        both = endpoints(KEY_NEW, KEY_OLD)
        made: list[str] = []

        async def api_rotation() -> None:
            made.append((await both.rotate(str(endpoint.id)))[1])

        with before_the_next_write(api_rotation):
            report = await rotate_endpoint_secrets(TokenVault([KEY_NEW, KEY_OLD]))
        assert (report.scanned, report.rotated, report.changed_meanwhile) == (1, 0, 1)
        stored = await WebhookEndpoint.get(endpoint.id)
        assert stored is not None and len(stored.secrets) == 2
        assert both.signing_secrets(stored, utcnow())[0] == made[0]

    async def test_an_api_rotation_does_not_write_back_secrets_rotate_keys_re_encrypted(
        self, mongo_db
    ):
        """The API reads an endpoint, rotate-keys re-encrypts it, then the API writes: the
        API's write is a compare-and-set too, so it rotates again from the re-encrypted
        secrets instead of putting the old key's ciphertext back."""
        endpoint, original = await endpoints(KEY_OLD).create(URL, [], None)
        both = endpoints(KEY_NEW, KEY_OLD)

        async def rotate_keys() -> None:
            assert (await rotate_endpoint_secrets(TokenVault([KEY_NEW, KEY_OLD]))).rotated == 1

        with before_the_next_write(rotate_keys):
            rotated, secret = await both.rotate(str(endpoint.id))
        # Readable with the new key alone: the old key can go.
        assert endpoints(KEY_NEW).signing_secrets(rotated, utcnow()) == [secret, original]

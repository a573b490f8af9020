"""Saved methods in the service, on the suite's MongoDB-wire server: token encryption and
fingerprints, dedupe, the one-default rule under concurrency, delete, and key rotation (in the
service and through `paygraph rotate-keys`)."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gateways.base import Gateway, GatewayPayment, GatewayPaymentStatus
from gateways.registry import GatewayRegistry
from models.clock import utcnow
from models.enums import PaymentMethodType, PaymentStatus, Role
from models.errors import SavedMethodNotFound
from models.events_out import WebhookEndpoint
from models.gateway_customer import GatewayCustomer
from models.money import Money
from models.payment import Payment
from models.saved_method import SavedPaymentMethod
from services.auth import Principal
from services.crypto import TokenVault, UndecryptableToken
from services.events_out.endpoints import Endpoints
from services.events_out.transport import UrlPolicy
from services.saved_methods import PaymentHasNoToken, SavedMethodService, rotate_tokens

REPO = Path(__file__).resolve().parents[2]
_ids = itertools.count(1)

KEY_OLD = Fernet.generate_key().decode()
KEY_NEW = Fernet.generate_key().decode()


def principal(customer_id: str = "cust-1") -> Principal:
    return Principal(customer_id=customer_id, roles=frozenset({Role.CUSTOMER}))


async def completed_payment(customer_id: str = "cust-1") -> Payment:
    n = next(_ids)
    now = utcnow()
    payment = Payment(
        order_id=f"ORD-SM-{n}",
        customer_id=customer_id,
        amount=Money(amount_minor=49900, currency="INR"),
        gateway=Gateway.RAZORPAY,
        method_type=PaymentMethodType.CARD,
        status=PaymentStatus.COMPLETED,
        gateway_order_id=f"order_{n:014d}",
        gateway_payment_id=f"pay_{n:014d}",
        request_fingerprint=f"fp-{n}",
        expires_at=now + timedelta(hours=1),
    )
    await payment.insert()
    return payment


def gateway_view(payment: Payment, token: str | None) -> GatewayPayment:
    assert payment.gateway_payment_id is not None
    return GatewayPayment(
        gateway=Gateway.RAZORPAY,
        id=payment.gateway_payment_id,
        order_id=payment.gateway_order_id,
        amount_minor=payment.amount.amount_minor,
        currency="INR",
        status=GatewayPaymentStatus.CAPTURED,
        method="card",
        card_last4="1007",
        card_network="Visa",
        token_id=token,
    )


def service(*keys: str) -> SavedMethodService:
    return SavedMethodService(GatewayRegistry(), TokenVault(list(keys)))


async def save(svc: SavedMethodService, token: str, customer_id: str = "cust-1", **kw):
    payment = await completed_payment(customer_id)
    return await svc.save_from_gateway(payment, gateway_view(payment, token), **kw)


class TestTokenVault:
    def test_round_trip_and_the_ciphertext_hides_the_token(self):
        vault = TokenVault([KEY_OLD])
        ciphertext = vault.encrypt("token_ABCDEFGHIJKLMN")
        assert "token_ABCDEFGHIJKLMN" not in ciphertext
        assert vault.decrypt(ciphertext) == "token_ABCDEFGHIJKLMN"

    def test_a_new_first_key_still_decrypts_old_tokens(self):
        old = TokenVault([KEY_OLD]).encrypt("token_1")
        both = TokenVault([KEY_NEW, KEY_OLD])
        assert both.decrypt(old) == "token_1"
        assert not both.is_current(old)
        assert both.is_current(both.rotate(old))
        assert TokenVault([KEY_NEW]).decrypt(both.rotate(old)) == "token_1"

    def test_without_its_key_a_token_is_undecryptable(self):
        with pytest.raises(UndecryptableToken):
            TokenVault([KEY_NEW]).decrypt(TokenVault([KEY_OLD]).encrypt("token_1"))

    def test_fingerprints_are_keyed_deterministic_and_per_gateway(self):
        vault = TokenVault([KEY_NEW, KEY_OLD])
        assert vault.fingerprint("RAZORPAY", "t") == vault.fingerprint("RAZORPAY", "t")
        assert vault.fingerprint("RAZORPAY", "t") != vault.fingerprint("PAYPAL", "t")
        assert vault.fingerprint("RAZORPAY", "t") != TokenVault([KEY_OLD]).fingerprint(
            "RAZORPAY", "t"
        )
        assert vault.fingerprints("RAZORPAY", "t") == [
            TokenVault([KEY_NEW]).fingerprint("RAZORPAY", "t"),
            TokenVault([KEY_OLD]).fingerprint("RAZORPAY", "t"),
        ]


class TestSave:
    async def test_stores_the_token_encrypted_with_display_fields(self, mongo_db):
        svc = service(KEY_OLD)
        method = await save(svc, "token_SECRET0000001", label="my visa")
        raw = await mongo_db["saved_payment_methods"].find_one({"_id": method.id})
        assert "token_SECRET0000001" not in repr(raw)
        assert TokenVault([KEY_OLD]).decrypt(raw["token_ciphertext"]) == "token_SECRET0000001"
        assert raw["last4"] == "1007" and raw["network"] == "Visa" and raw["label"] == "my visa"
        assert raw["method_type"] == "CARD" and raw["gateway"] == "RAZORPAY"
        assert method.is_default  # the customer's first method

    async def test_the_same_token_twice_returns_the_first_method(self, mongo_db):
        svc = service(KEY_OLD)
        first = await save(svc, "token_SAME000000001")
        second = await save(svc, "token_SAME000000001")
        assert second.id == first.id
        assert await SavedPaymentMethod.find({"customer_id": "cust-1"}).count() == 1

    async def test_concurrent_saves_of_one_token_make_one_method(self, mongo_db):
        svc = service(KEY_OLD)
        payment = await completed_payment()
        view = gateway_view(payment, "token_RACE000000001")
        saved = await asyncio.gather(*(svc.save_from_gateway(payment, view) for _ in range(10)))
        assert len({m.id for m in saved}) == 1
        assert await SavedPaymentMethod.find({}).count() == 1

    async def test_a_payment_without_a_token_is_refused(self, mongo_db):
        payment = await completed_payment()
        with pytest.raises(PaymentHasNoToken):
            await service(KEY_OLD).save_from_gateway(payment, gateway_view(payment, None))
        assert await SavedPaymentMethod.find({}).count() == 0


class TestDefault:
    async def test_twenty_concurrent_switches_leave_exactly_one_default(self, mongo_db):
        svc = service(KEY_OLD)
        methods = [await save(svc, f"token_DEF{i:011d}") for i in range(20)]
        await asyncio.gather(*(svc.set_default(principal(), str(m.id)) for m in methods))
        defaults = await SavedPaymentMethod.find(
            {"customer_id": "cust-1", "is_default": True}
        ).to_list()
        assert len(defaults) == 1

    async def test_concurrent_first_saves_make_one_default(self, mongo_db):
        svc = service(KEY_OLD)
        await asyncio.gather(*(save(svc, f"token_FIRST{i:09d}") for i in range(10)))
        assert await SavedPaymentMethod.find({"is_default": True}).count() == 1

    async def test_listing_puts_the_default_first(self, mongo_db):
        svc = service(KEY_OLD)
        first = await save(svc, "token_LIST000000001")
        second = await save(svc, "token_LIST000000002", set_default=True)
        listed = await svc.list_methods(principal())
        assert [m.id for m in listed] == [second.id, first.id]
        assert [m.is_default for m in listed] == [True, False]

    async def test_deleting_the_default_promotes_the_newest(self, mongo_db):
        svc = service(KEY_OLD)
        oldest = await save(svc, "token_DEL0000000001")
        newest = await save(svc, "token_DEL0000000002")
        await save(svc, "token_DEL0000000003", set_default=True)
        default = (await svc.list_methods(principal()))[0]
        await svc.delete(principal(), str(default.id))
        remaining = await svc.list_methods(principal())
        assert [m.id for m in remaining] == [newest.id, oldest.id]
        assert remaining[0].is_default and not remaining[1].is_default

    async def test_another_customers_method_is_not_found(self, mongo_db):
        svc = service(KEY_OLD)
        method = await save(svc, "token_OWN0000000001", customer_id="cust-2")
        for call in (svc.get, svc.set_default, svc.delete):
            with pytest.raises(SavedMethodNotFound):
                await call(principal("cust-1"), str(method.id))
        with pytest.raises(SavedMethodNotFound):
            await svc.get(principal(), "not-an-id")


class TestRotation:
    async def test_rotation_re_encrypts_under_the_new_first_key(self, mongo_db):
        old_svc = service(KEY_OLD)
        saved = [await save(old_svc, f"token_ROT{i:011d}") for i in range(3)]
        rotated_vault = TokenVault([KEY_NEW, KEY_OLD])

        # Before rotation, the new first key already finds the old rows (no duplicate).
        new_svc = SavedMethodService(GatewayRegistry(), rotated_vault)
        again = await save(new_svc, "token_ROT00000000000")
        assert again.id == saved[0].id

        report = await rotate_tokens(rotated_vault, batch_size=2)
        assert (report.scanned, report.rotated, report.current, report.failed) == (3, 3, 0, [])

        only_new = TokenVault([KEY_NEW])
        for i, method in enumerate(saved):
            raw = await mongo_db["saved_payment_methods"].find_one({"_id": method.id})
            assert only_new.decrypt(raw["token_ciphertext"]) == f"token_ROT{i:011d}"
            assert raw["token_fingerprint"] == only_new.fingerprint(
                "RAZORPAY", f"token_ROT{i:011d}"
            )

        # With the old key retired, dedupe still works and a second run has nothing to do.
        retired = SavedMethodService(GatewayRegistry(), only_new)
        assert (await save(retired, "token_ROT00000000001")).id == saved[1].id
        again_report = await rotate_tokens(only_new)
        assert (again_report.rotated, again_report.current) == (0, 3)

    async def test_rows_no_key_decrypts_are_reported_and_left_alone(self, mongo_db):
        await save(service(KEY_OLD), "token_LOST000000001")
        report = await rotate_tokens(TokenVault([KEY_NEW]))
        assert report.rotated == 0 and len(report.failed) == 1


class TestRotateKeysCommand:
    async def test_the_command_rotates_and_reports(self, mongo_db, settings, tmp_path):
        methods = [await save(service(KEY_OLD), f"token_CLI{i:011d}") for i in range(2)]
        under_old = Endpoints(TokenVault([KEY_OLD]), UrlPolicy(public_only=False))
        endpoint, secret = await under_old.create("http://127.0.0.1:9/hooks", [], None)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGODB_", "REDIS_"))}
        env.update(
            PYTHONPATH=str(REPO),
            APP_ENV="test",
            MONGODB_URL=settings.mongodb_url,
            MONGODB_DB=settings.mongodb_db,
            REDIS_URL=settings.redis_url,
            ENCRYPTION_KEYS=f"{KEY_NEW},{KEY_OLD}",
        )
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "cli", "rotate-keys"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "2 saved methods scanned, 2 re-encrypted" in result.stdout
        assert "1 webhook endpoints scanned, 1 re-encrypted" in result.stdout
        stored = await WebhookEndpoint.get(endpoint.id)
        assert stored is not None
        under_new = Endpoints(TokenVault([KEY_NEW]), UrlPolicy(public_only=False))
        assert under_new.signing_secrets(stored, utcnow()) == [secret]
        for i, method in enumerate(methods):
            raw = await mongo_db["saved_payment_methods"].find_one({"_id": method.id})
            assert TokenVault([KEY_NEW]).decrypt(raw["token_ciphertext"]) == f"token_CLI{i:011d}"
        assert KEY_NEW not in result.stdout + result.stderr

    def test_refuses_without_keys(self, tmp_path):
        env = {k: v for k, v in os.environ.items() if k != "ENCRYPTION_KEYS"}
        env.update(PYTHONPATH=str(REPO), MONGODB_URL="mongodb://127.0.0.1:1", REDIS_URL="redis://x")
        result = subprocess.run(
            [sys.executable, "-m", "cli", "rotate-keys"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2
        assert "ENCRYPTION_KEYS" in result.stderr


class TestGatewayCustomer:
    """Razorpay's customer for each of ours, made once against the sandbox over HTTP."""

    async def test_made_once_then_read_back(self, core, client):
        await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
        first = await core.saved_methods.gateway_customer(Gateway.RAZORPAY, "cust-gc-1")
        again = await core.saved_methods.gateway_customer(Gateway.RAZORPAY, "cust-gc-1")
        other = await core.saved_methods.gateway_customer(Gateway.RAZORPAY, "cust-gc-2")
        assert first is not None and first.startswith("cust_")
        assert again == first != other
        state = (await client.get("/sandbox/razorpay/_control")).json()
        assert state["counts"]["customers"] == 2

    async def test_concurrent_first_checkouts_keep_one(self, core, client):
        found = await asyncio.gather(
            *(core.saved_methods.gateway_customer(Gateway.RAZORPAY, "cust-gc-3") for _ in range(5))
        )
        stored = await GatewayCustomer.find({"customer_id": "cust-gc-3"}).to_list()
        assert len(stored) == 1
        assert set(found) == {stored[0].gateway_customer_id}

    async def test_paypal_keeps_none(self, core):
        assert await core.saved_methods.gateway_customer(Gateway.PAYPAL, "cust-gc-4") is None
        assert await GatewayCustomer.find({"customer_id": "cust-gc-4"}).count() == 0

    async def test_an_unreachable_gateway_makes_none_and_stores_nothing(self, core, client):
        await client.post(
            "/sandbox/razorpay/_control",
            json={"action": "fault", "path": "/v1/customers", "status": 400, "count": 1},
        )
        assert await core.saved_methods.gateway_customer(Gateway.RAZORPAY, "cust-gc-5") is None
        assert await GatewayCustomer.find({"customer_id": "cust-gc-5"}).count() == 0
        await client.post("/sandbox/razorpay/_control", json={"action": "clear_faults"})

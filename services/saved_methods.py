"""Saved payment methods: the only writer of saved-method state.

A saved method is a gateway token taken from a payment the gateway completed (a card paid with
"save" in Razorpay Checkout), never card data: the token is stored encrypted with its HMAC
fingerprint (services/crypto.py), beside the display fields the gateway reports (last4, network,
expiry). The same token saved twice returns the first row (unique on gateway + fingerprint).

Each customer with saved methods has exactly one default. Every change of the default rewrites
all of the customer's rows (`is_default` and `updated_at`) in one transaction, so concurrent
changes conflict on the same documents and MongoDB serialises them (the losers retry).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from beanie import PydanticObjectId, SortDirection
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from gateways.base import (
    Gateway,
    GatewayError,
    GatewayOutcomeUnknown,
    GatewayPayment,
    GatewayRejected,
    GatewayUnavailable,
)
from gateways.registry import GatewayNotRegistered, GatewayRegistry
from models.clock import utcnow
from models.errors import (
    GatewayRejectedError,
    GatewayUnavailableError,
    InvalidState,
    PaymentNotFound,
    SavedMethodNotFound,
    ValidationFailed,
)
from models.gateway_customer import GatewayCustomer
from models.payment import Payment
from models.saved_method import SavedPaymentMethod
from models.transitions import CAPTURED_PAYMENT_STATUSES
from services.auth import Principal
from services.crypto import RotationReport, TokenVault, UndecryptableToken
from services.kit import every_row, in_transaction, object_id

log = logging.getLogger("paygraph.saved_methods")

LABEL_MAX_LENGTH = 64
# A payment whose money the gateway took: its token is proven to work.
_SAVABLE = CAPTURED_PAYMENT_STATUSES


class PaymentHasNoToken(ValidationFailed):
    """The gateway issued no reusable token for this payment (the customer did not opt to save,
    or the method cannot be saved)."""

    default_message = "This payment has no reusable token at the gateway; it cannot be saved."

    def __init__(self, message: str | None = None, *, field: str | None = "paymentId") -> None:
        super().__init__(message, field=field)


@dataclass(frozen=True, slots=True)
class SaveCommand:
    payment_id: str
    label: str | None = None
    set_default: bool = False


class SavedMethodService:
    def __init__(self, gateways: GatewayRegistry, vault: TokenVault) -> None:
        self._gateways = gateways
        self._vault = vault

    # -- reads ---------------------------------------------------------------------------

    async def list_methods(self, principal: Principal) -> list[SavedPaymentMethod]:
        """The caller's saved methods, the default first, then newest first."""
        return (
            await SavedPaymentMethod.find({"customer_id": principal.customer_id})
            .sort(
                [
                    ("is_default", SortDirection.DESCENDING),
                    ("created_at", SortDirection.DESCENDING),
                    ("_id", SortDirection.DESCENDING),
                ]
            )
            .to_list()
        )

    async def get(self, principal: Principal, method_id: str) -> SavedPaymentMethod:
        """The caller's saved method; anyone else's (admins included) is SavedMethodNotFound."""
        oid = object_id(method_id, otherwise=SavedMethodNotFound(field="id"))
        method = await SavedPaymentMethod.find_one(
            {"_id": oid, "customer_id": principal.customer_id}
        )
        if method is None:
            raise SavedMethodNotFound(field="id")
        return method

    async def checkout_token(
        self, principal: Principal, method_id: str
    ) -> tuple[SavedPaymentMethod, str]:
        """The caller's saved method and its gateway token in clear, for the gateway's checkout
        only (never stored or logged in clear)."""
        method = await self.get(principal, method_id)
        return method, self._vault.decrypt(method.token_ciphertext)

    async def gateway_customer(self, gateway: Gateway, customer_id: str) -> str | None:
        """Our customer's record at `gateway`, made the first time a checkout needs it (a card
        checkout that may save the card, or pays with a saved one): Razorpay issues and
        honours a card token only with its customer id. None when the gateway keeps no
        customers, or could not be reached now (the card is then just not saved)."""
        # One field of a small record, read on every card checkout: no document validation.
        found = await GatewayCustomer.get_pymongo_collection().find_one(
            {"gateway": gateway.value, "customer_id": customer_id}, {"gateway_customer_id": 1}
        )
        if found is not None:
            return str(found["gateway_customer_id"])
        try:
            made = await self._gateways.get(gateway).create_customer(customer_id)
        except GatewayError as exc:
            log.warning("no %s customer for %s now (%s)", gateway, customer_id, exc.code)
            return None
        if made is None:
            return None
        try:
            await GatewayCustomer(
                customer_id=customer_id, gateway=gateway, gateway_customer_id=made
            ).insert()
        except DuplicateKeyError:
            # A concurrent checkout made one too: the stored one is the customer (the other
            # record at the gateway stays empty).
            stored = await GatewayCustomer.find_one(
                {"gateway": gateway.value, "customer_id": customer_id}
            )
            return stored.gateway_customer_id if stored is not None else None
        return made

    # -- save ----------------------------------------------------------------------------

    async def save(self, principal: Principal, command: SaveCommand) -> SavedPaymentMethod:
        """Save the token of one of the caller's completed payments, as the gateway reports it
        now. Saving a token that is already saved returns that method."""
        label = _clean_label(command.label)
        oid = object_id(command.payment_id, otherwise=PaymentNotFound(field="paymentId"))
        payment = await Payment.find_one({"_id": oid, "customer_id": principal.customer_id})
        if payment is None:
            raise PaymentNotFound(field="paymentId")
        if payment.status not in _SAVABLE:
            raise InvalidState(
                "only a completed payment's method can be saved; "
                f"this one is {payment.status.value}",
                current_status=payment.status.value,
            )
        if payment.gateway is None or payment.gateway_payment_id is None:
            raise PaymentHasNoToken()
        found = await self._fetch(payment)
        return await self.save_from_gateway(
            payment, found, label=label, set_default=command.set_default
        )

    async def save_from_gateway(
        self,
        payment: Payment,
        found: GatewayPayment,
        *,
        label: str | None = None,
        set_default: bool = False,
    ) -> SavedPaymentMethod:
        """Save the token carried by `found`, the gateway's view of `payment` (also called by
        PaymentService when verifyPayment asks for saveMethod). The method belongs to the
        payment's customer; the customer's first method becomes the default."""
        if found.id != payment.gateway_payment_id or found.gateway is not payment.gateway:
            raise InvalidState("the gateway payment is not this payment's")
        if not found.token_id:
            raise PaymentHasNoToken()
        label = _clean_label(label)
        existing = await self._find_token(found)
        if existing is not None:
            if existing.customer_id != payment.customer_id:
                # Gateway tokens are per customer; this is a mix-up, not a second owner.
                raise InvalidState("this payment method cannot be saved to this account")
            assert existing.id is not None
            if set_default:
                await self._settle_default(existing.customer_id, existing.id)
            return await self._reread(existing.id)
        now = utcnow()
        method = SavedPaymentMethod(
            customer_id=payment.customer_id,
            gateway=found.gateway,
            method_type=payment.method_type,
            token_ciphertext=self._vault.encrypt(found.token_id),
            token_fingerprint=self._vault.fingerprint(found.gateway.value, found.token_id),
            last4=_last4(found.card_last4),
            network=found.card_network[:32] if found.card_network else None,
            label=label or "",
            is_default=False,
            created_at=now,
            updated_at=now,
        )
        try:
            await method.insert()
        except DuplicateKeyError:
            # The same token saved concurrently: the other request's row is the method.
            raced = await self._find_token(found)
            if raced is None or raced.customer_id != payment.customer_id:
                raise InvalidState("this payment method is being saved; try again") from None
            method = raced
        assert method.id is not None
        await self._settle_default(payment.customer_id, method.id if set_default else None)
        return await self._reread(method.id)

    # -- default and delete --------------------------------------------------------------

    async def set_default(self, principal: Principal, method_id: str) -> SavedPaymentMethod:
        """Make this the caller's one default method."""
        method = await self.get(principal, method_id)
        assert method.id is not None
        await self._settle_default(principal.customer_id, method.id)
        return await self._reread(method.id, principal)

    async def delete(self, principal: Principal, method_id: str) -> PydanticObjectId:
        """Forget the method (and its token). When it was the default, the newest remaining
        method becomes the default. The token is not revoked at the gateway: the adapters have
        no token API yet."""
        method = await self.get(principal, method_id)
        assert method.id is not None
        collection = SavedPaymentMethod.get_pymongo_collection()
        customer_id = principal.customer_id
        target = method.id

        async def body(session: AsyncClientSession) -> None:
            result = await collection.delete_one(
                {"_id": target, "customer_id": customer_id}, session=session
            )
            if result.deleted_count != 1:
                raise SavedMethodNotFound(field="id")
            await self._write_default(session, customer_id, None)

        await in_transaction(body)
        return target

    async def _settle_default(self, customer_id: str, target: PydanticObjectId | None) -> None:
        """With a target: it becomes the only default. Without: keep the current default, or
        make the newest method the default if there is none."""
        await in_transaction(lambda session: self._write_default(session, customer_id, target))

    async def _write_default(
        self, session: AsyncClientSession, customer_id: str, target: PydanticObjectId | None
    ) -> None:
        collection = SavedPaymentMethod.get_pymongo_collection()
        if target is None:
            current = await collection.find_one(
                {"customer_id": customer_id, "is_default": True}, {"_id": 1}, session=session
            )
            if current is not None:
                # Still written below: a concurrent change of the default must conflict with
                # this transaction rather than leave two defaults or none.
                target = current["_id"]
            else:
                newest = await collection.find_one(
                    {"customer_id": customer_id},
                    {"_id": 1},
                    sort=[("created_at", -1), ("_id", -1)],
                    session=session,
                )
                if newest is None:
                    return
                target = newest["_id"]
        # Every row is written (updated_at changes), so two transactions changing this
        # customer's default always touch the same documents and cannot both commit.
        await collection.update_many(
            {"customer_id": customer_id},
            [{"$set": {"is_default": {"$eq": ["$_id", target]}, "updated_at": utcnow()}}],
            session=session,
        )

    # -- key rotation --------------------------------------------------------------------

    async def rotate_keys(self, *, batch_size: int = 500) -> RotationReport:
        """Re-encrypt every stored token under the first key and re-fingerprint it; see
        `rotate_tokens`."""
        return await rotate_tokens(self._vault, batch_size=batch_size)

    # -- helpers -------------------------------------------------------------------------

    async def _fetch(self, payment: Payment) -> GatewayPayment:
        assert payment.gateway is not None and payment.gateway_payment_id is not None
        gateway_payment_id = payment.gateway_payment_id
        try:
            adapter = self._gateways.get(payment.gateway)
        except GatewayNotRegistered:
            raise GatewayUnavailableError("this payment's gateway is not configured here") from None
        try:
            found: GatewayPayment = await adapter.fetch_payment(gateway_payment_id)
        except GatewayRejected as exc:
            raise GatewayRejectedError(
                exc.reason or exc.message, gateway_code=exc.gateway_code
            ) from None
        except (GatewayUnavailable, GatewayOutcomeUnknown):
            raise GatewayUnavailableError("could not read the payment at the gateway") from None
        return found

    async def _find_token(self, found: GatewayPayment) -> SavedPaymentMethod | None:
        assert found.token_id is not None
        fingerprints = self._vault.fingerprints(found.gateway.value, found.token_id)
        return await SavedPaymentMethod.find_one(
            {"gateway": found.gateway.value, "token_fingerprint": {"$in": fingerprints}}
        )

    async def _reread(
        self, method_id: PydanticObjectId, principal: Principal | None = None
    ) -> SavedPaymentMethod:
        method = await SavedPaymentMethod.get(method_id)
        owner = principal.customer_id if principal is not None else None
        if method is None or (owner is not None and method.customer_id != owner):
            raise SavedMethodNotFound(field="id")  # deleted meanwhile
        return method


async def rotate_tokens(vault: TokenVault, *, batch_size: int = 500) -> RotationReport:
    """Re-encrypt every saved token under the vault's first key and rewrite its fingerprint
    under that key. Each row is a compare-and-set on its old ciphertext, so running twice, or
    beside the API, is safe; rows saved meanwhile are written under the first key already."""
    collection = SavedPaymentMethod.get_pymongo_collection()
    scanned = rotated = current = changed = 0
    failed: list[str] = []
    rows = every_row(
        collection,
        {"gateway": 1, "token_ciphertext": 1, "token_fingerprint": 1},
        batch_size=batch_size,
    )
    async for row in rows:
        scanned += 1
        ciphertext: str = row["token_ciphertext"]
        try:
            token = vault.decrypt(ciphertext)
        except UndecryptableToken:
            failed.append(str(row["_id"]))
            continue
        fingerprint = vault.fingerprint(row["gateway"], token)
        if vault.is_current(ciphertext) and row.get("token_fingerprint") == fingerprint:
            current += 1
            continue
        try:
            result = await collection.update_one(
                {"_id": row["_id"], "token_ciphertext": ciphertext},
                {
                    "$set": {
                        "token_ciphertext": vault.rotate(ciphertext),
                        "token_fingerprint": fingerprint,
                        "updated_at": utcnow(),
                    }
                },
            )
        except DuplicateKeyError:
            failed.append(str(row["_id"]))
            continue
        if result.modified_count == 1:
            rotated += 1
        else:
            changed += 1  # deleted or rotated by someone else since it was read
    if failed:
        log.warning("rotate-keys: %d saved methods could not be rotated: %s", len(failed), failed)
    return RotationReport(scanned, rotated, current, changed, failed)


def _clean_label(label: str | None) -> str | None:
    if label is None:
        return None
    label = label.strip()
    if len(label) > LABEL_MAX_LENGTH:
        raise ValidationFailed(
            f"label may hold at most {LABEL_MAX_LENGTH} characters", field="label"
        )
    return label


def _last4(value: str | None) -> str | None:
    return value if value is not None and len(value) == 4 and value.isdigit() else None

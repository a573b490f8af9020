"""The checkout's rules as pure functions (no I/O, no awaits): what an initiate command must hold,
the fingerprint that tells an identical repeat from a conflicting one, which gateways may take a
payment and in which order, when creating the order may fall back to the next gateway, and what
the checkout may offer. Data in; data or a domain error out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import urlsplit

from beanie import PydanticObjectId

from domain.gateways import MIN_AMOUNT_MINOR
from gateways.base import (
    Gateway,
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    PaymentGateway,
)
from gateways.policy import CircuitOpen
from gateways.registry import GatewayRegistry
from models.enums import LatePaymentKind, PaymentMethodType, PaymentStatus
from models.errors import UnsupportedPaymentMethod, ValidationFailed
from models.money import SUPPORTED_CURRENCIES, Money
from models.payment import GatewayAttempt, MethodDetails, Payment
from models.transitions import UNPAID_CLOSED_STATUSES
from services import catalog
from services.kit import object_id
from services.payments.types import InitiateCommand

# What creating a gateway order may fail with that the checkout decides on (`falls_back`).
OrderFailure: TypeAlias = GatewayUnavailable | GatewayOutcomeUnknown | GatewayRejected
ORDER_FAILURES = (GatewayUnavailable, GatewayOutcomeUnknown, GatewayRejected)


@dataclass(frozen=True, slots=True)
class ValidInitiate:
    """An initiate command that passed `validate`, in the shape the payment stores."""

    money: Money
    method: PaymentMethodType
    details: MethodDetails
    installments: int
    saved_method_id: PydanticObjectId | None  # well formed; whose it is is checked by a read
    notes: dict[str, str]
    return_url: str | None = None
    cancel_url: str | None = None


def validate(
    command: InitiateCommand, return_origins: frozenset[str] = frozenset()
) -> ValidInitiate:
    """The command's fields in a fixed order; the first problem is raised as ValidationFailed
    (or its InvalidAmount and UnsupportedCurrency) naming the field."""
    if not catalog.ORDER_ID_RE.match(command.order_id or ""):
        raise ValidationFailed("orderId must be 1-50 letters, digits, '-' or '_'", field="orderId")
    currency = (command.currency or "").upper()
    if currency not in SUPPORTED_CURRENCIES:
        raise ValidationFailed(f"currency {command.currency!r} is not supported", field="currency")
    money = Money.parse(command.amount, currency, field="amount")
    method = command.method
    details = _method_details(command)
    _check_installments(command.installments, method, money)
    notes: dict[str, str] = {}
    if command.notes is not None:
        if len(command.notes) > catalog.NOTES_MAX_LENGTH:
            raise ValidationFailed(
                f"notes may hold at most {catalog.NOTES_MAX_LENGTH} characters", field="notes"
            )
        notes = {"note": command.notes}
    saved_method_id = None
    if command.saved_method_id is not None:
        saved_method_id = object_id(
            command.saved_method_id,
            otherwise=ValidationFailed("savedMethodId is not a valid id", field="savedMethodId"),
        )
    return ValidInitiate(
        money,
        method,
        details,
        command.installments,
        saved_method_id,
        notes,
        _return_url(command.return_url, "returnUrl", return_origins),
        _return_url(command.cancel_url, "cancelUrl", return_origins),
    )


def _return_url(url: str | None, field: str, origins: frozenset[str]) -> str | None:
    """An absolute http(s) URL on an allowed origin (else the gateway would redirect the buyer
    anywhere a request names), at most 2,000 characters."""
    if url is None:
        return None
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if len(url) > 2000 or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed(f"{field} must be an absolute http(s) URL", field=field)
    if origin not in origins:
        raise ValidationFailed(
            f"{field} must be on an allowed origin (CORS_ALLOW_ORIGINS); {origin} is not",
            field=field,
        )
    return url


def _method_details(command: InitiateCommand) -> MethodDetails:
    method = command.method
    details = MethodDetails()
    if method is PaymentMethodType.UPI and command.vpa is not None:
        if not catalog.VPA_RE.match(command.vpa):
            raise ValidationFailed("vpa must look like name@bank", field="vpa")
        details = MethodDetails(vpa=command.vpa.lower())
    if command.bank is not None:
        if method is not PaymentMethodType.NETBANKING:
            raise ValidationFailed("bank is only for NETBANKING", field="bank")
        if command.bank not in catalog.NETBANKING_BANKS:
            raise ValidationFailed("bank must be a code from netbankingBanks", field="bank")
        details = MethodDetails(bank=command.bank)
    if command.wallet is not None:
        if method is not PaymentMethodType.WALLET:
            raise ValidationFailed("wallet is only for WALLET", field="wallet")
        if command.wallet not in catalog.WALLETS:
            raise ValidationFailed("wallet must be one of the supported wallets", field="wallet")
        details = MethodDetails(wallet=command.wallet)
    if command.vpa is not None and method is not PaymentMethodType.UPI:
        raise ValidationFailed("vpa is only for UPI", field="vpa")
    return details


def _check_installments(installments: int, method: PaymentMethodType, money: Money) -> None:
    if installments < 1:
        raise ValidationFailed("installments must be at least 1", field="installments")
    if installments > 1:
        if method is not PaymentMethodType.EMI:
            raise ValidationFailed("installments above 1 need the EMI method", field="installments")
        if installments not in catalog.EMI_TENURES:
            raise ValidationFailed(
                f"EMI tenure must be one of {', '.join(map(str, catalog.EMI_TENURES))} months",
                field="installments",
            )
    if method is PaymentMethodType.EMI and money.amount_minor < catalog.EMI_MIN_MINOR:
        raise ValidationFailed("EMI needs an amount of at least 2500.00 INR", field="amount")


def fingerprint(order_id: str, valid: ValidInitiate) -> str:
    """The hash of everything a payment is created from: a repeat of initiatePayment with the
    same hash gets the payment back, a different one for the same order is DUPLICATE_ORDER."""
    canonical = json.dumps(
        {
            "order_id": order_id,
            "amount_minor": valid.money.amount_minor,
            "currency": valid.money.currency,
            "method": valid.method.value,
            "saved_method_id": str(valid.saved_method_id) if valid.saved_method_id else None,
            "installments": valid.installments,
            "details": valid.details.model_dump(),
            "notes": valid.notes,
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- routing ---------------------------------------------------------------------------------


def candidates(
    gateways: GatewayRegistry, method: PaymentMethodType, money: Money
) -> list[PaymentGateway]:
    """The registered gateways that take this method in this currency, preferred first (the
    catalog's route order). An amount under a gateway's minimum is a validation problem for
    the caller, not a routing one."""
    kind = catalog.method_kind(method)
    found = []
    for name in catalog.ROUTES[method]:
        if name not in gateways:
            continue
        adapter = gateways.get(name)
        if adapter.supports(kind, money.currency, max(money.amount_minor, MIN_AMOUNT_MINOR[name])):
            found.append(adapter)
    return found


def route(
    gateways: GatewayRegistry, method: PaymentMethodType, money: Money
) -> list[PaymentGateway]:
    """`candidates`, refusing a method no gateway takes in this currency
    (UnsupportedPaymentMethod) and an amount under every candidate's minimum (ValidationFailed)."""
    found = candidates(gateways, method, money)
    if not found:
        raise UnsupportedPaymentMethod(
            f"{method.value} is not available in {money.currency}", field="paymentMethod"
        )
    minimum = min(MIN_AMOUNT_MINOR[adapter.name] for adapter in found)
    if money.amount_minor < minimum:
        least = Money(amount_minor=minimum, currency=money.currency).to_decimal_string()
        raise ValidationFailed(f"amount is below the gateway minimum of {least}", field="amount")
    return found


def falls_back(failure: OrderFailure) -> bool:
    """Whether the next candidate may take the order after this gateway failed to create it:
    only when nothing was created there (unavailable, or skipped by its open breaker). An
    unknown outcome may have created an order, and a rejection is the gateway's answer: both
    stop here, so a payment never has orders on two gateways."""
    return isinstance(failure, GatewayUnavailable)


def order_attempt(gateway: Gateway, failure: OrderFailure) -> GatewayAttempt:
    """How a failed try at creating the order is kept on the payment."""
    if isinstance(failure, CircuitOpen):
        return GatewayAttempt(gateway=gateway, outcome="skipped", detail="circuit open")
    if isinstance(failure, GatewayUnavailable):
        outcome = "unavailable"
    elif isinstance(failure, GatewayOutcomeUnknown):
        outcome = "unknown"
    else:
        outcome = "rejected"
    return GatewayAttempt(gateway=gateway, outcome=outcome, detail=failure.message)


def order_note(gateway: Gateway, attempts: Sequence[GatewayAttempt]) -> str:
    """The timeline note of a created order; says which gateways were tried before it."""
    note = f"order created on {gateway}"
    if attempts:
        note += " after " + ", ".join(f"{a.gateway} {a.outcome}" for a in attempts)
    return note


# -- what the checkout offers ----------------------------------------------------------------


def supported_methods(
    gateways: GatewayRegistry, currency: str, amount: str | None
) -> list[catalog.MethodOption]:
    """What the checkout should offer for this currency (and amount, when known), each method
    with the gateway it would go to."""
    currency = currency.upper()
    if currency not in SUPPORTED_CURRENCIES:
        raise ValidationFailed(f"currency {currency!r} is not supported", field="currency")
    money = Money.parse(amount, currency) if amount is not None else None
    options = []
    for method in PaymentMethodType:
        probe = money or Money(
            amount_minor=catalog.EMI_MIN_MINOR if method is PaymentMethodType.EMI else 10_000,
            currency=currency,
        )
        found = candidates(gateways, method, probe)
        if not found:
            continue
        if money is not None and money.amount_minor < MIN_AMOUNT_MINOR[found[0].name]:
            continue
        if method is PaymentMethodType.EMI and probe.amount_minor < catalog.EMI_MIN_MINOR:
            continue
        tenures = catalog.EMI_TENURES if method is PaymentMethodType.EMI else ()
        options.append(catalog.MethodOption(method, found[0].name, tenures))
    return options


def is_closed(payment: Payment, max_attempts: int) -> bool:
    """Closed for us: cancelled, expired, or failed with no attempt left. Money that reaches
    the gateway for it afterwards is late money (services/payments/late.py), never captured.
    It stays closed once late money has been captured for it, whatever its status then says
    (REFUNDED or PARTIALLY_REFUNDED as that money is returned, COMPLETED if it was accepted):
    a second late capture on its order is late money too, not a capture of its own."""
    return (
        payment.status in UNPAID_CLOSED_STATUSES
        or (payment.status is PaymentStatus.FAILED and payment.attempt_count >= max_attempts)
        or any(late.kind is LatePaymentKind.CAPTURE for late in payment.late_payments)
    )

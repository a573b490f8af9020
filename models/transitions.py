"""The payment and refund state machines as pure tables. No I/O, no persistence imports.

`decide(current, event)` answers one of:
- `Apply(to)`: move to `to` (the caller writes it compare-and-set on `current`);
- `Noop(reason)`: nothing to do - a duplicate delivery, or a stale event that arrived after a
  later one (gateways do not deliver in order);
- `Reject(reason)`: the event contradicts what we know; the caller reports it, never applies it.

Every (status, event) pair is written out below. The module refuses to import if a pair is
missing, so adding an enum value forces a decision for it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Generic, TypeAlias, TypeVar

from models.enums import PaymentStatus, RefundStatus

S = TypeVar("S", PaymentStatus, RefundStatus)


class PaymentEvent(StrEnum):
    ORDER_CREATED = "ORDER_CREATED"  # the gateway order exists; checkout can start
    AUTHORIZED = "AUTHORIZED"
    CAPTURED = "CAPTURED"
    FAILED = "FAILED"  # one attempt failed; the order may still be paid by another attempt
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    RETRIED = "RETRIED"  # the customer starts a new attempt after a failure
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"  # refunds now cover the whole captured amount
    # The authorization we waited to capture was released by the gateway (Razorpay refunds an
    # authorization nobody captured within its window): the money is gone.
    AUTHORIZATION_VOIDED = "AUTHORIZATION_VOIDED"
    # Money for a payment we had closed (cancelled, expired, failed for good). Never captured
    # by us: an authorization is recorded and left to lapse; a capture the gateway made is
    # recorded and refunded (LATE_PAYMENT_POLICY=refund) or accepted (=accept: COMPLETED).
    LATE_AUTHORIZATION = "LATE_AUTHORIZATION"
    LATE_PAYMENT = "LATE_PAYMENT"
    LATE_PAYMENT_ACCEPTED = "LATE_PAYMENT_ACCEPTED"


class RefundEvent(StrEnum):
    SUBMITTED = "SUBMITTED"  # the gateway accepted the refund request
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Apply(Generic[S]):
    to: S


@dataclass(frozen=True, slots=True)
class Noop:
    reason: str


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str


PaymentDecision: TypeAlias = Apply[PaymentStatus] | Noop | Reject
RefundDecision: TypeAlias = Apply[RefundStatus] | Noop | Reject


class TransitionTableIncomplete(RuntimeError):
    """A (status, event) pair has no decision. Raised at import: a programming error."""


# Shorthands that keep the table one line per pair.
P = PaymentStatus
E = PaymentEvent

_DUPLICATE = Noop("duplicate: the payment is already in this state")
_STALE = Noop("stale: the payment is already past this event")
_NOT_NEEDED = Noop("nothing to retry: no attempt has failed")
_LATE_FAILURE = Noop("stale: a failed attempt reported after a later attempt succeeded")
_NOT_CAPTURED = Reject("no captured money to refund")
_CAPTURED_NO_CANCEL = Reject("money is captured: refund it instead")
_AUTHORIZED_NO_CANCEL = Reject("money is authorized: capture or void it at the gateway first")
_NOT_RETRYABLE = Reject("only a failed payment can be retried")
_CLOSED_NO_RETRY = Reject("the payment is closed: start a new payment")
_FULLY_REFUNDED = Noop("stale: the payment is already fully refunded")
_NOT_VOIDABLE = Noop("no authorization of ours is waiting: nothing to release")
_OPEN_NOT_LATE = Reject("the payment is open: money for it is applied, not late")
_LATE_ONLY = Reject("the payment is closed: money for it is late money (LATE_* events)")
_LATE_RECORDED = Noop("stale: late money is already recorded on this refunded payment")

_PAYMENT_TABLE: dict[tuple[PaymentStatus, PaymentEvent], PaymentDecision] = {
    # PENDING: our record exists; the gateway order may or may not.
    (P.PENDING, E.ORDER_CREATED): Apply(P.INITIATED),
    (P.PENDING, E.AUTHORIZED): Apply(P.AUTHORIZED),
    (P.PENDING, E.CAPTURED): Apply(P.COMPLETED),
    (P.PENDING, E.FAILED): Apply(P.FAILED),
    (P.PENDING, E.CANCELLED): Apply(P.CANCELLED),
    (P.PENDING, E.EXPIRED): Apply(P.EXPIRED),
    (P.PENDING, E.RETRIED): _NOT_NEEDED,
    (P.PENDING, E.PARTIALLY_REFUNDED): _NOT_CAPTURED,
    (P.PENDING, E.REFUNDED): _NOT_CAPTURED,
    (P.PENDING, E.AUTHORIZATION_VOIDED): _NOT_VOIDABLE,
    (P.PENDING, E.LATE_AUTHORIZATION): _OPEN_NOT_LATE,
    (P.PENDING, E.LATE_PAYMENT): _OPEN_NOT_LATE,
    (P.PENDING, E.LATE_PAYMENT_ACCEPTED): _OPEN_NOT_LATE,
    # INITIATED: the gateway order exists; the customer is in checkout.
    (P.INITIATED, E.ORDER_CREATED): _DUPLICATE,
    (P.INITIATED, E.AUTHORIZED): Apply(P.AUTHORIZED),
    (P.INITIATED, E.CAPTURED): Apply(P.COMPLETED),
    (P.INITIATED, E.FAILED): Apply(P.FAILED),
    (P.INITIATED, E.CANCELLED): Apply(P.CANCELLED),
    (P.INITIATED, E.EXPIRED): Apply(P.EXPIRED),
    (P.INITIATED, E.RETRIED): _NOT_NEEDED,
    (P.INITIATED, E.PARTIALLY_REFUNDED): _NOT_CAPTURED,
    (P.INITIATED, E.REFUNDED): _NOT_CAPTURED,
    (P.INITIATED, E.AUTHORIZATION_VOIDED): _NOT_VOIDABLE,
    (P.INITIATED, E.LATE_AUTHORIZATION): _OPEN_NOT_LATE,
    (P.INITIATED, E.LATE_PAYMENT): _OPEN_NOT_LATE,
    (P.INITIATED, E.LATE_PAYMENT_ACCEPTED): _OPEN_NOT_LATE,
    # AUTHORIZED: money is held; only a capture moves it on.
    (P.AUTHORIZED, E.ORDER_CREATED): _STALE,
    (P.AUTHORIZED, E.AUTHORIZED): _DUPLICATE,
    (P.AUTHORIZED, E.CAPTURED): Apply(P.COMPLETED),
    (P.AUTHORIZED, E.FAILED): _LATE_FAILURE,
    (P.AUTHORIZED, E.CANCELLED): _AUTHORIZED_NO_CANCEL,
    (P.AUTHORIZED, E.EXPIRED): _AUTHORIZED_NO_CANCEL,
    (P.AUTHORIZED, E.RETRIED): _NOT_RETRYABLE,
    (P.AUTHORIZED, E.PARTIALLY_REFUNDED): _NOT_CAPTURED,
    (P.AUTHORIZED, E.REFUNDED): _NOT_CAPTURED,
    (P.AUTHORIZED, E.AUTHORIZATION_VOIDED): Apply(P.FAILED),
    (P.AUTHORIZED, E.LATE_AUTHORIZATION): _OPEN_NOT_LATE,
    (P.AUTHORIZED, E.LATE_PAYMENT): _OPEN_NOT_LATE,
    (P.AUTHORIZED, E.LATE_PAYMENT_ACCEPTED): _OPEN_NOT_LATE,
    # COMPLETED: captured; only refunds move it on.
    (P.COMPLETED, E.ORDER_CREATED): _STALE,
    (P.COMPLETED, E.AUTHORIZED): _STALE,
    (P.COMPLETED, E.CAPTURED): _DUPLICATE,
    (P.COMPLETED, E.FAILED): _LATE_FAILURE,
    (P.COMPLETED, E.CANCELLED): _CAPTURED_NO_CANCEL,
    (P.COMPLETED, E.EXPIRED): _CAPTURED_NO_CANCEL,
    (P.COMPLETED, E.RETRIED): _NOT_RETRYABLE,
    (P.COMPLETED, E.PARTIALLY_REFUNDED): Apply(P.PARTIALLY_REFUNDED),
    (P.COMPLETED, E.REFUNDED): Apply(P.REFUNDED),
    (P.COMPLETED, E.AUTHORIZATION_VOIDED): _NOT_VOIDABLE,
    # Accepted late money, or a second order attempt captured after ours: recorded, kept.
    (P.COMPLETED, E.LATE_AUTHORIZATION): Apply(P.COMPLETED),
    (P.COMPLETED, E.LATE_PAYMENT): Apply(P.COMPLETED),
    (P.COMPLETED, E.LATE_PAYMENT_ACCEPTED): _DUPLICATE,
    # PARTIALLY_REFUNDED: captured, some of it returned; each further partial refund re-applies.
    (P.PARTIALLY_REFUNDED, E.ORDER_CREATED): _STALE,
    (P.PARTIALLY_REFUNDED, E.AUTHORIZED): _STALE,
    (P.PARTIALLY_REFUNDED, E.CAPTURED): _STALE,
    (P.PARTIALLY_REFUNDED, E.FAILED): _LATE_FAILURE,
    (P.PARTIALLY_REFUNDED, E.CANCELLED): _CAPTURED_NO_CANCEL,
    (P.PARTIALLY_REFUNDED, E.EXPIRED): _CAPTURED_NO_CANCEL,
    (P.PARTIALLY_REFUNDED, E.RETRIED): _NOT_RETRYABLE,
    (P.PARTIALLY_REFUNDED, E.PARTIALLY_REFUNDED): Apply(P.PARTIALLY_REFUNDED),
    (P.PARTIALLY_REFUNDED, E.REFUNDED): Apply(P.REFUNDED),
    (P.PARTIALLY_REFUNDED, E.AUTHORIZATION_VOIDED): _NOT_VOIDABLE,
    (P.PARTIALLY_REFUNDED, E.LATE_AUTHORIZATION): Apply(P.PARTIALLY_REFUNDED),
    (P.PARTIALLY_REFUNDED, E.LATE_PAYMENT): Apply(P.PARTIALLY_REFUNDED),
    (P.PARTIALLY_REFUNDED, E.LATE_PAYMENT_ACCEPTED): _STALE,
    # REFUNDED: everything returned; nothing moves it.
    (P.REFUNDED, E.ORDER_CREATED): _STALE,
    (P.REFUNDED, E.AUTHORIZED): _STALE,
    (P.REFUNDED, E.CAPTURED): _STALE,
    (P.REFUNDED, E.FAILED): _LATE_FAILURE,
    (P.REFUNDED, E.CANCELLED): _CAPTURED_NO_CANCEL,
    (P.REFUNDED, E.EXPIRED): _CAPTURED_NO_CANCEL,
    (P.REFUNDED, E.RETRIED): _NOT_RETRYABLE,
    (P.REFUNDED, E.PARTIALLY_REFUNDED): _FULLY_REFUNDED,
    (P.REFUNDED, E.REFUNDED): _DUPLICATE,
    (P.REFUNDED, E.AUTHORIZATION_VOIDED): _NOT_VOIDABLE,
    # A closed payment whose late money was returned reads REFUNDED; more late money for it
    # is recorded and returned the same way (its captured figure grows, so it is partly
    # refunded until the new refund completes).
    (P.REFUNDED, E.LATE_AUTHORIZATION): Apply(P.REFUNDED),
    (P.REFUNDED, E.LATE_PAYMENT): Apply(P.PARTIALLY_REFUNDED),
    (P.REFUNDED, E.LATE_PAYMENT_ACCEPTED): _LATE_RECORDED,
    # FAILED: the last attempt failed; another attempt on the same gateway order may succeed.
    (P.FAILED, E.ORDER_CREATED): _STALE,
    (P.FAILED, E.AUTHORIZED): Apply(P.AUTHORIZED),
    (P.FAILED, E.CAPTURED): Apply(P.COMPLETED),
    (P.FAILED, E.FAILED): _DUPLICATE,
    (P.FAILED, E.CANCELLED): Apply(P.CANCELLED),
    (P.FAILED, E.EXPIRED): Apply(P.EXPIRED),
    (P.FAILED, E.RETRIED): Apply(P.INITIATED),
    # A late capture refunded in full ends it REFUNDED, as the money says (refunds are only
    # ever made for captured money, which the late events record).
    (P.FAILED, E.PARTIALLY_REFUNDED): Apply(P.PARTIALLY_REFUNDED),
    (P.FAILED, E.REFUNDED): Apply(P.REFUNDED),
    (P.FAILED, E.AUTHORIZATION_VOIDED): _NOT_VOIDABLE,
    # Failed for good (no attempts left): late money is recorded, never captured by us.
    (P.FAILED, E.LATE_AUTHORIZATION): Apply(P.FAILED),
    (P.FAILED, E.LATE_PAYMENT): Apply(P.FAILED),
    (P.FAILED, E.LATE_PAYMENT_ACCEPTED): Apply(P.COMPLETED),
    # CANCELLED / EXPIRED: closed by us. Money that moves at the gateway afterwards is real -
    # the gateway is the truth - but it is never captured by us: services record it as late
    # money (LATE_*), and its refund moves the status as the money says.
    (P.CANCELLED, E.ORDER_CREATED): _STALE,
    (P.CANCELLED, E.AUTHORIZED): _LATE_ONLY,
    (P.CANCELLED, E.CAPTURED): _LATE_ONLY,
    (P.CANCELLED, E.FAILED): _STALE,
    (P.CANCELLED, E.CANCELLED): _DUPLICATE,
    (P.CANCELLED, E.EXPIRED): _STALE,
    (P.CANCELLED, E.RETRIED): _CLOSED_NO_RETRY,
    (P.CANCELLED, E.PARTIALLY_REFUNDED): Apply(P.PARTIALLY_REFUNDED),
    (P.CANCELLED, E.REFUNDED): Apply(P.REFUNDED),
    (P.CANCELLED, E.AUTHORIZATION_VOIDED): _NOT_VOIDABLE,
    (P.CANCELLED, E.LATE_AUTHORIZATION): Apply(P.CANCELLED),
    (P.CANCELLED, E.LATE_PAYMENT): Apply(P.CANCELLED),
    (P.CANCELLED, E.LATE_PAYMENT_ACCEPTED): Apply(P.COMPLETED),
    (P.EXPIRED, E.ORDER_CREATED): _STALE,
    (P.EXPIRED, E.AUTHORIZED): _LATE_ONLY,
    (P.EXPIRED, E.CAPTURED): _LATE_ONLY,
    (P.EXPIRED, E.FAILED): _STALE,
    (P.EXPIRED, E.CANCELLED): _STALE,
    (P.EXPIRED, E.EXPIRED): _DUPLICATE,
    (P.EXPIRED, E.RETRIED): _CLOSED_NO_RETRY,
    (P.EXPIRED, E.PARTIALLY_REFUNDED): Apply(P.PARTIALLY_REFUNDED),
    (P.EXPIRED, E.REFUNDED): Apply(P.REFUNDED),
    (P.EXPIRED, E.AUTHORIZATION_VOIDED): _NOT_VOIDABLE,
    (P.EXPIRED, E.LATE_AUTHORIZATION): Apply(P.EXPIRED),
    (P.EXPIRED, E.LATE_PAYMENT): Apply(P.EXPIRED),
    (P.EXPIRED, E.LATE_PAYMENT_ACCEPTED): Apply(P.COMPLETED),
}

R = RefundStatus
RE = RefundEvent

_REFUND_TABLE: dict[tuple[RefundStatus, RefundEvent], RefundDecision] = {
    (R.PENDING, RE.SUBMITTED): Apply(R.PROCESSING),
    (R.PENDING, RE.PROCESSED): Apply(R.COMPLETED),
    (R.PENDING, RE.FAILED): Apply(R.FAILED),
    (R.PROCESSING, RE.SUBMITTED): Noop("duplicate: the refund is already processing"),
    (R.PROCESSING, RE.PROCESSED): Apply(R.COMPLETED),
    (R.PROCESSING, RE.FAILED): Apply(R.FAILED),
    (R.COMPLETED, RE.SUBMITTED): Noop("stale: the refund is already processed"),
    (R.COMPLETED, RE.PROCESSED): Noop("duplicate: the refund is already processed"),
    (R.COMPLETED, RE.FAILED): Reject("the gateway reported the refund processed"),
    (R.FAILED, RE.SUBMITTED): Noop("stale: the refund has already failed"),
    (R.FAILED, RE.PROCESSED): Reject("the refund was recorded as failed"),
    (R.FAILED, RE.FAILED): Noop("duplicate: the refund has already failed"),
}

del P, E, R, RE

PAYMENT_TRANSITIONS: Mapping[tuple[PaymentStatus, PaymentEvent], PaymentDecision] = (
    MappingProxyType(_PAYMENT_TABLE)
)
REFUND_TRANSITIONS: Mapping[tuple[RefundStatus, RefundEvent], RefundDecision] = MappingProxyType(
    _REFUND_TABLE
)

TERMINAL_PAYMENT_STATUSES: frozenset[PaymentStatus] = frozenset(
    {
        PaymentStatus.COMPLETED,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.CANCELLED,
        PaymentStatus.EXPIRED,
    }
)
"""The charge's outcome is settled: expiry and reconciliation leave these alone. Refunds still
move COMPLETED and PARTIALLY_REFUNDED, and a late gateway capture can still reopen CANCELLED or
EXPIRED (see the table)."""

OPEN_PAYMENT_STATUSES: frozenset[PaymentStatus] = frozenset(PaymentStatus) - (
    TERMINAL_PAYMENT_STATUSES
)
"""The outcome at the gateway is not settled yet: candidates for expiry and reconciliation."""

REFUNDABLE_PAYMENT_STATUSES: frozenset[PaymentStatus] = frozenset(
    {PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED}
)

CAPTURED_PAYMENT_STATUSES: frozenset[PaymentStatus] = REFUNDABLE_PAYMENT_STATUSES | {
    PaymentStatus.REFUNDED
}
"""The gateway took the money (some or all of it may have been refunded since)."""

UNPAID_CLOSED_STATUSES: frozenset[PaymentStatus] = frozenset(
    {PaymentStatus.CANCELLED, PaymentStatus.EXPIRED}
)
"""Closed before any money was taken, by the customer or by the clock."""

OPEN_REFUND_STATUSES: frozenset[RefundStatus] = frozenset(
    {RefundStatus.PENDING, RefundStatus.PROCESSING}
)

TERMINAL_REFUND_STATUSES: frozenset[RefundStatus] = frozenset(
    {RefundStatus.COMPLETED, RefundStatus.FAILED}
)


def is_final(status: PaymentStatus | RefundStatus) -> bool:
    # Dispatch on the type: the two enums share values ("COMPLETED") that compare equal.
    if isinstance(status, PaymentStatus):
        return status in TERMINAL_PAYMENT_STATUSES
    return status in TERMINAL_REFUND_STATUSES


def decide(current: PaymentStatus, event: PaymentEvent) -> PaymentDecision:
    return _PAYMENT_TABLE[(PaymentStatus(current), PaymentEvent(event))]


def decide_refund(current: RefundStatus, event: RefundEvent) -> RefundDecision:
    return _REFUND_TABLE[(RefundStatus(current), RefundEvent(event))]


def missing_pairs(
    table: Collection[tuple[StrEnum, StrEnum]],
    statuses: Iterable[StrEnum],
    events: Iterable[StrEnum],
) -> list[tuple[StrEnum, StrEnum]]:
    """Pairs of `statuses` x `events` the table does not decide, or decides under a key of the
    wrong enum type (StrEnum members of different enums compare equal, so check the types)."""
    events = list(events)
    typed_keys = {(type(s), s.value, type(e), e.value) for s, e in table}
    return [
        (s, e)
        for s in statuses
        for e in events
        if (type(s), s.value, type(e), e.value) not in typed_keys
    ]


def _classify_all() -> None:
    checks: list[
        tuple[str, Collection[tuple[StrEnum, StrEnum]], int, list[tuple[StrEnum, StrEnum]]]
    ] = [
        (
            "payment",
            _PAYMENT_TABLE,
            len(PaymentStatus) * len(PaymentEvent),
            missing_pairs(_PAYMENT_TABLE, PaymentStatus, PaymentEvent),
        ),
        (
            "refund",
            _REFUND_TABLE,
            len(RefundStatus) * len(RefundEvent),
            missing_pairs(_REFUND_TABLE, RefundStatus, RefundEvent),
        ),
    ]
    for name, table, expected_size, missing in checks:
        if missing:
            pairs = ", ".join(f"({s.value}, {e.value})" for s, e in missing)
            raise TransitionTableIncomplete(f"{name} transitions undecided: {pairs}")
        if len(table) != expected_size:
            raise TransitionTableIncomplete(f"{name} transitions have keys of the wrong type")


_classify_all()

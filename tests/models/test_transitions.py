from __future__ import annotations

import ast
import inspect
from enum import StrEnum

import pytest

from models import transitions
from models.enums import PaymentStatus, RefundStatus
from models.transitions import (
    OPEN_PAYMENT_STATUSES,
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    TERMINAL_PAYMENT_STATUSES,
    Apply,
    Noop,
    PaymentEvent,
    RefundEvent,
    Reject,
    TransitionTableIncomplete,
    decide,
    decide_refund,
    is_final,
    missing_pairs,
)

# The whole matrix, written out independently of the implementation.
# A status abbreviation = Apply(to=that status), "noop" = Noop, "REJ" = Reject.
NOOP = "noop"
REJECT = "REJ"
ABBREVIATIONS = {
    "INIT": "INITIATED",
    "AUTH": "AUTHORIZED",
    "DONE": "COMPLETED",
    "FAIL": "FAILED",
    "CANC": "CANCELLED",
    "EXPD": "EXPIRED",
    "PREF": "PARTIALLY_REFUNDED",
    "RFND": "REFUNDED",
    "PROC": "PROCESSING",
}

PAYMENT_EVENTS_ORDER = [
    "ORDER_CREATED", "AUTHORIZED", "CAPTURED", "FAILED", "CANCELLED",
    "EXPIRED", "RETRIED", "PARTIALLY_REFUNDED", "REFUNDED",
    "AUTHORIZATION_VOIDED", "LATE_AUTHORIZATION", "LATE_PAYMENT", "LATE_PAYMENT_ACCEPTED",
]  # fmt: skip

PAYMENT_MATRIX: dict[str, list[str]] = {
    #                      ORDER   AUTH    CAPT    FAIL    CANC    EXPR    RETRY   PREF    RFND    VOID    L_AUTH  L_PAY   L_ACC
    # columns: PAYMENT_EVENTS_ORDER
    "PENDING":            ["INIT", "AUTH", "DONE", "FAIL", "CANC", "EXPD", "noop", "REJ",  "REJ",  "noop", "REJ",  "REJ",  "REJ"],
    "INITIATED":          ["noop", "AUTH", "DONE", "FAIL", "CANC", "EXPD", "noop", "REJ",  "REJ",  "noop", "REJ",  "REJ",  "REJ"],
    "AUTHORIZED":         ["noop", "noop", "DONE", "noop", "REJ",  "REJ",  "REJ",  "REJ",  "REJ",  "FAIL", "REJ",  "REJ",  "REJ"],
    "COMPLETED":          ["noop", "noop", "noop", "noop", "REJ",  "REJ",  "REJ",  "PREF", "RFND", "noop", "DONE", "DONE", "noop"],
    "PARTIALLY_REFUNDED": ["noop", "noop", "noop", "noop", "REJ",  "REJ",  "REJ",  "PREF", "RFND", "noop", "PREF", "PREF", "noop"],
    "REFUNDED":           ["noop", "noop", "noop", "noop", "REJ",  "REJ",  "REJ",  "noop", "noop", "noop", "RFND", "PREF", "noop"],
    # Retryable or failed for good (services tell them apart): late events only for the latter.
    "FAILED":             ["noop", "AUTH", "DONE", "noop", "CANC", "EXPD", "INIT", "PREF", "RFND", "noop", "FAIL", "FAIL", "DONE"],
    # Closed by us: money afterwards is late money, never captured; its refund moves the status.
    "CANCELLED":          ["noop", "REJ",  "REJ",  "noop", "noop", "noop", "REJ",  "PREF", "RFND", "noop", "CANC", "CANC", "DONE"],
    "EXPIRED":            ["noop", "REJ",  "REJ",  "noop", "noop", "noop", "REJ",  "PREF", "RFND", "noop", "EXPD", "EXPD", "DONE"],
}  # fmt: skip

REFUND_EVENTS_ORDER = ["SUBMITTED", "PROCESSED", "FAILED"]

REFUND_MATRIX: dict[str, list[str]] = {
    #             SUBMITTED PROCESSED FAILED
    "PENDING":    ["PROC",  "DONE",   "FAIL"],
    "PROCESSING": ["noop",  "DONE",   "FAIL"],
    "COMPLETED":  ["noop",  "noop",   "REJ"],
    "FAILED":     ["noop",  "REJ",    "noop"],
}  # fmt: skip


def _payment_cases() -> list[tuple[str, str, str]]:
    return [
        (status, event, expected)
        for status, row in PAYMENT_MATRIX.items()
        for event, expected in zip(PAYMENT_EVENTS_ORDER, row, strict=True)
    ]


def _refund_cases() -> list[tuple[str, str, str]]:
    return [
        (status, event, expected)
        for status, row in REFUND_MATRIX.items()
        for event, expected in zip(REFUND_EVENTS_ORDER, row, strict=True)
    ]


def _assert_outcome(outcome: object, expected: str, status_type: type[StrEnum]) -> None:
    if expected == NOOP:
        assert isinstance(outcome, Noop), outcome
        assert outcome.reason
    elif expected == REJECT:
        assert isinstance(outcome, Reject), outcome
        assert outcome.reason
    else:
        assert isinstance(outcome, Apply), outcome
        assert type(outcome.to) is status_type
        assert outcome.to == status_type(ABBREVIATIONS[expected])


class TestPaymentTable:
    @pytest.mark.parametrize(("status", "event", "expected"), _payment_cases())
    def test_pair(self, status: str, event: str, expected: str) -> None:
        outcome = decide(PaymentStatus(status), PaymentEvent(event))
        _assert_outcome(outcome, expected, PaymentStatus)

    def test_matrix_covers_every_enum_value(self) -> None:
        # Fails when a status or event is added to an enum without a row/column here.
        assert set(PAYMENT_MATRIX) == {s.value for s in PaymentStatus}
        assert [e.value for e in PaymentEvent] == PAYMENT_EVENTS_ORDER

    def test_table_decides_every_pair(self) -> None:
        for status in PaymentStatus:
            for event in PaymentEvent:
                assert (status, event) in PAYMENT_TRANSITIONS, (status, event)
        assert len(PAYMENT_TRANSITIONS) == len(PaymentStatus) * len(PaymentEvent)

    def test_table_is_read_only(self) -> None:
        with pytest.raises(TypeError):
            PAYMENT_TRANSITIONS[(PaymentStatus.PENDING, PaymentEvent.CAPTURED)] = Noop("x")  # type: ignore[index]


class TestRefundTable:
    @pytest.mark.parametrize(("status", "event", "expected"), _refund_cases())
    def test_pair(self, status: str, event: str, expected: str) -> None:
        outcome = decide_refund(RefundStatus(status), RefundEvent(event))
        _assert_outcome(outcome, expected, RefundStatus)

    def test_matrix_covers_every_enum_value(self) -> None:
        assert set(REFUND_MATRIX) == {s.value for s in RefundStatus}
        assert [e.value for e in RefundEvent] == REFUND_EVENTS_ORDER

    def test_table_decides_every_pair(self) -> None:
        for status in RefundStatus:
            for event in RefundEvent:
                assert (status, event) in REFUND_TRANSITIONS, (status, event)
        assert len(REFUND_TRANSITIONS) == len(RefundStatus) * len(RefundEvent)


class TestDuplicateDelivery:
    @pytest.mark.parametrize(
        ("event", "after"),
        [
            (PaymentEvent.ORDER_CREATED, PaymentStatus.INITIATED),
            (PaymentEvent.AUTHORIZED, PaymentStatus.AUTHORIZED),
            (PaymentEvent.CAPTURED, PaymentStatus.COMPLETED),
            (PaymentEvent.FAILED, PaymentStatus.FAILED),
            (PaymentEvent.CANCELLED, PaymentStatus.CANCELLED),
            (PaymentEvent.EXPIRED, PaymentStatus.EXPIRED),
            (PaymentEvent.REFUNDED, PaymentStatus.REFUNDED),
        ],
    )
    def test_second_delivery_is_noop(self, event: PaymentEvent, after: PaymentStatus) -> None:
        assert isinstance(decide(after, event), Noop)

    def test_each_partial_refund_applies(self) -> None:
        # Not a duplicate: every partial refund is its own event; amounts are checked by services.
        assert decide(PaymentStatus.PARTIALLY_REFUNDED, PaymentEvent.PARTIALLY_REFUNDED) == Apply(
            PaymentStatus.PARTIALLY_REFUNDED
        )

    @pytest.mark.parametrize(
        ("status", "event"),
        [
            (RefundStatus.PROCESSING, RefundEvent.SUBMITTED),
            (RefundStatus.COMPLETED, RefundEvent.PROCESSED),
            (RefundStatus.FAILED, RefundEvent.FAILED),
        ],
    )
    def test_refund_second_delivery_is_noop(self, status: RefundStatus, event: RefundEvent) -> None:
        assert isinstance(decide_refund(status, event), Noop)


class TestOutOfOrder:
    def test_authorized_after_captured_is_noop(self) -> None:
        assert isinstance(decide(PaymentStatus.COMPLETED, PaymentEvent.AUTHORIZED), Noop)

    def test_earlier_attempt_failure_after_authorization_is_noop(self) -> None:
        assert isinstance(decide(PaymentStatus.AUTHORIZED, PaymentEvent.FAILED), Noop)

    def test_later_attempt_success_after_failure_applies(self) -> None:
        assert decide(PaymentStatus.FAILED, PaymentEvent.CAPTURED) == Apply(PaymentStatus.COMPLETED)

    @pytest.mark.parametrize("closed", [PaymentStatus.CANCELLED, PaymentStatus.EXPIRED])
    @pytest.mark.parametrize("event", [PaymentEvent.AUTHORIZED, PaymentEvent.CAPTURED])
    def test_money_after_we_closed_is_never_applied_as_ours(
        self, closed: PaymentStatus, event: PaymentEvent
    ) -> None:
        # The services record it as late money instead (LATE_*): never captured by us.
        assert isinstance(decide(closed, event), Reject)

    @pytest.mark.parametrize("closed", [PaymentStatus.CANCELLED, PaymentStatus.EXPIRED])
    def test_late_capture_keeps_the_closed_status_until_its_refund(
        self, closed: PaymentStatus
    ) -> None:
        assert decide(closed, PaymentEvent.LATE_PAYMENT) == Apply(closed)
        assert decide(closed, PaymentEvent.REFUNDED) == Apply(PaymentStatus.REFUNDED)
        assert decide(closed, PaymentEvent.LATE_PAYMENT_ACCEPTED) == Apply(PaymentStatus.COMPLETED)


class TestContradictions:
    @pytest.mark.parametrize(
        ("status", "event"),
        [
            (PaymentStatus.AUTHORIZED, PaymentEvent.CANCELLED),
            (PaymentStatus.COMPLETED, PaymentEvent.CANCELLED),
            (PaymentStatus.COMPLETED, PaymentEvent.EXPIRED),
            (PaymentStatus.PENDING, PaymentEvent.REFUNDED),
            (PaymentStatus.CANCELLED, PaymentEvent.RETRIED),
            (PaymentStatus.REFUNDED, PaymentEvent.RETRIED),
        ],
    )
    def test_payment_contradiction_rejects(
        self, status: PaymentStatus, event: PaymentEvent
    ) -> None:
        assert isinstance(decide(status, event), Reject)

    def test_refund_failed_after_processed_rejects(self) -> None:
        assert isinstance(decide_refund(RefundStatus.COMPLETED, RefundEvent.FAILED), Reject)

    def test_refund_processed_after_failed_rejects(self) -> None:
        assert isinstance(decide_refund(RefundStatus.FAILED, RefundEvent.PROCESSED), Reject)


class TestInputs:
    def test_plain_strings_are_coerced(self) -> None:
        assert decide("FAILED", "RETRIED") == Apply(PaymentStatus.INITIATED)  # type: ignore[arg-type]

    def test_unknown_value_raises(self) -> None:
        with pytest.raises(ValueError):
            decide(PaymentStatus.PENDING, "SETTLED")  # type: ignore[arg-type]


class TestExhaustivenessCheck:
    class _Status(StrEnum):
        A = "A"
        B = "B"

    class _Event(StrEnum):
        GO = "GO"
        STOP = "STOP"

    def test_reports_missing_pair(self) -> None:
        table = {(self._Status.A, self._Event.GO), (self._Status.A, self._Event.STOP)}
        missing = missing_pairs(table, self._Status, self._Event)
        assert missing == [(self._Status.B, self._Event.GO), (self._Status.B, self._Event.STOP)]

    def test_key_of_wrong_enum_does_not_count(self) -> None:
        # RefundStatus.COMPLETED == PaymentStatus.COMPLETED as strings; the check must see types.
        table = {(RefundStatus.COMPLETED, PaymentEvent.CAPTURED)}
        missing = missing_pairs(table, [PaymentStatus.COMPLETED], [PaymentEvent.CAPTURED])
        assert missing == [(PaymentStatus.COMPLETED, PaymentEvent.CAPTURED)]

    def test_real_tables_are_complete(self) -> None:
        assert missing_pairs(PAYMENT_TRANSITIONS, PaymentStatus, PaymentEvent) == []
        assert missing_pairs(REFUND_TRANSITIONS, RefundStatus, RefundEvent) == []

    def test_import_fails_on_incomplete_table(self, monkeypatch: pytest.MonkeyPatch) -> None:
        reduced = dict(transitions._PAYMENT_TABLE)
        del reduced[(PaymentStatus.EXPIRED, PaymentEvent.REFUNDED)]
        monkeypatch.setattr(transitions, "_PAYMENT_TABLE", reduced)
        with pytest.raises(TransitionTableIncomplete, match=r"\(EXPIRED, REFUNDED\)"):
            transitions._classify_all()


class TestFinalStatuses:
    @pytest.mark.parametrize("status", list(PaymentStatus))
    def test_every_payment_status_is_open_or_final(self, status: PaymentStatus) -> None:
        assert (status in OPEN_PAYMENT_STATUSES) != (status in TERMINAL_PAYMENT_STATUSES)
        assert is_final(status) == (status in TERMINAL_PAYMENT_STATUSES)

    @pytest.mark.parametrize(
        "status",
        [PaymentStatus.PENDING, PaymentStatus.INITIATED, PaymentStatus.AUTHORIZED,
         PaymentStatus.FAILED],
    )  # fmt: skip
    def test_unsettled_payments_are_open(self, status: PaymentStatus) -> None:
        assert not is_final(status)

    @pytest.mark.parametrize(
        ("status", "final"),
        [
            (RefundStatus.PENDING, False),
            (RefundStatus.PROCESSING, False),
            (RefundStatus.COMPLETED, True),
            (RefundStatus.FAILED, True),
        ],
    )
    def test_refund_final(self, status: RefundStatus, final: bool) -> None:
        assert is_final(status) is final


class TestPurity:
    def test_no_io_or_persistence_imports(self) -> None:
        tree = ast.parse(inspect.getsource(transitions))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        assert imported <= {"__future__", "collections.abc", "dataclasses", "enum", "types",
                            "typing", "models.enums"}  # fmt: skip

"""Payments: the only writer of a payment's status and money fields.

`PaymentService` (service.py) is a thin facade over modules by concern:

- types.py     commands, results, the policy and the page cursor
- rules.py     pure rules: validation, fingerprint, routing and fallback, supported methods
- store.py     the one writer: transitions and failed attempts, compare-and-set, timeline,
               observer, publish
- checkout.py  initiate, identical repeats, retries, the order lease, gateway order creation
- sync.py      verify, gateway payments and events (webhooks), captures
- closing.py   cancel and expiry
- queries.py   get, list (cursors), watch, the payment a gateway event is about
"""

from services.payments.service import PaymentService
from services.payments.types import (
    InitiateCommand,
    Initiated,
    PaymentPage,
    PaymentPolicy,
    VerifyCommand,
)

__all__ = [
    "InitiateCommand",
    "Initiated",
    "PaymentPage",
    "PaymentPolicy",
    "PaymentService",
    "VerifyCommand",
]

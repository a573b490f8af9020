"""Refunds: full and partial, never more than was captured, never twice.

Accepting a refund is one transaction: the amount is reserved on the payment (one conditional
increment: committed + amount <= captured) and the PENDING refund is inserted. The refund is
then handed to a worker job, and the mutation answers: an admin waits for the reservation,
not for the gateway (whose retries back off for up to 30 s). The job sends it to the gateway
with an idempotency key derived from our refund id, so a second job, the sweep of refunds left
PENDING or reconciliation replays it instead of refunding again. Settling moves the reservation
into the refunded total (and the payment to PARTIALLY_REFUNDED or REFUNDED) in one transaction
with the refund's own status change; a failure releases the reservation. Every change is
published, so `refundStatusChanged` shows PENDING -> PROCESSING -> COMPLETED or FAILED live.

Refunds made outside paygraph (the gateway's dashboard, a chargeback) are imported from their
webhooks and from reconciliation as refunds of source GATEWAY, settled the same way.

Modules: commands (the request, the policy, the queue port), accept (validation, reservation,
idempotency key, hand-off and sweep), send (the gateway call), updates (gateway answers and
webhooks through the state machine), imports (refunds made at the gateway: matched or
recorded), store (the compare-and-set write path), queries (reads), service (the RefundService
facade).
"""

from services.refunds.commands import RefundCommand, RefundPolicy, RefundQueue, idempotency_key
from services.refunds.service import RefundService

__all__ = ["RefundCommand", "RefundPolicy", "RefundQueue", "RefundService", "idempotency_key"]

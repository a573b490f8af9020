"""Razorpay, the primary gateway: cards, UPI, net banking, wallets and EMI in INR.

Amounts: integer minor units both ways (paise for INR, cents for USD), exactly as Razorpay's
API takes them; nothing is converted. Minimum 100 minor units (INR 1.00).

Signatures (all lowercase hex HMAC-SHA256, compared with hmac.compare_digest):
- Checkout: HMAC(order_id + "|" + payment_id, key_secret), over the order id we stored.
- Webhooks: HMAC(raw request body bytes, webhook_secret) in X-Razorpay-Signature; the event id
  for deduplication is X-Razorpay-Event-Id. Nothing is parsed before the signature checks out.

Retry policy: the adapter never retries on its own; callers wrap calls in gateways.retry.
- Connect errors, pool/connect timeouts, 429 and 5xx -> GatewayUnavailable (retry with backoff,
  honouring Retry-After).
- Read/write timeouts on a GET or on an idempotency-keyed refund -> GatewayUnavailable.
- Read/write timeouts on an order create or a capture -> GatewayOutcomeUnknown. Orders have no
  idempotency header, so create_order is keyed by the receipt (our reference): it looks the
  receipt up before every create, and once more right after an ambiguous create, so calling it
  again never makes a second order for a reference that reached Razorpay.
- 4xx with Razorpay's error envelope -> GatewayRejected(gateway_code, reason, field).
"""

from gateways.razorpay.adapter import RazorpayGateway
from gateways.razorpay.config import RazorpayConfig

__all__ = ["RazorpayConfig", "RazorpayGateway"]

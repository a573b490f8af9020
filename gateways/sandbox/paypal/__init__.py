"""A local PayPal for offline tests and development: PayPal's own REST paths, in memory.

Mount it anywhere (the app mounts it at /sandbox/paypal); it serves PayPal's paths relative
to its mount, so the PayPal adapter with base_url "http://HOST/sandbox/paypal" talks to it
as it would to api-m.paypal.com. It is written from PayPal's documentation, independently of
gateways/paypal, so the two can disagree and a test can catch it.

What it reproduces (see reference/paypal.md §10):
- OAuth client credentials (HTTP Basic; 401 invalid_client), tokens with a settable
  expires_in (default 32400 s); expired or revoked tokens answer 401 invalid_token.
- Orders v2: create (CREATED + rel "approve" without payment_source, PAYER_ACTION_REQUIRED +
  rel "payer-action" with payment_source.paypal.experience_context), get, capture
  (ORDER_NOT_APPROVED / ORDER_ALREADY_CAPTURED 422; capture outcome COMPLETED, PENDING or
  DECLINED chosen via /_control). Ids are 17 characters of [A-Z0-9].
- Payments v2: captures and refunds (full or partial; REFUND_AMOUNT_EXCEEDED,
  CAPTURE_FULLY_REFUNDED, PENDING_CAPTURE, currency and precision checks).
- Idempotency keyed by (path, PayPal-Request-Id): a repeat answers 200 with the stored body;
  a repeat while the first is still running answers 409 PREVIOUS_REQUEST_IN_PROGRESS. Only
  successful answers are stored, so a capture refused as ORDER_NOT_APPROVED can be repeated
  with the same id once the buyer approves.
- PayPal's error envelope (name, message, debug_id, details[], links[]) with a
  Paypal-Debug-Id header; 415 for a JSON POST without Content-Type application/json;
  PayPal-Mock-Response {"mock_application_codes": "ISSUE"} negative testing.
- This merchant cannot receive INR (or any currency not in merchant_currencies):
  422 INVALID_CURRENCY_CODE, PayPal's "Currency code is invalid or is not currently supported".
- The buyer: GET /checkoutnow?token=ID (an HTML page) and POST /checkoutnow?token=ID with
  {"action": "approve" | "cancel"}, answering {"order_id", "status", "redirect_url"}.
- Webhooks to webhook_url with PayPal's envelope and the five PAYPAL-* headers, signed
  SHA256withRSA over "<transmission id>|<time>|<webhook id>|<crc32(raw body)>" with a key and
  self-signed certificate generated at start-up and served at /v1/notifications/certs/<id>;
  non-2xx answers are retried from a background task on a compressed schedule (at most 25
  attempts); POST /v1/notifications/verify-webhook-signature answers SUCCESS only for a
  transmission this sandbox really sent, with the event unchanged.

GET /_control shows counters and settings; POST /_control {"action": ...} injects faults and
changes knobs: reset, fail, delay, capture_outcome, webhooks (drop, duplicate, reorder, url),
token_expires_in, revoke_tokens, settle_capture, reverse_capture; control.py documents each.

Modules: config (the config and the merchant's currencies), state (entities, store, ids, their
JSON), errors (PayPal's envelope), api (REST handlers), checkout (the approval page), webhooks
(signing and delivery), control (`/_control`), app (`create_paypal_sandbox`).
"""

from gateways.sandbox.paypal.app import create_paypal_sandbox
from gateways.sandbox.paypal.config import DEFAULT_MERCHANT_CURRENCIES, PayPalSandboxConfig

__all__ = ["DEFAULT_MERCHANT_CURRENCIES", "PayPalSandboxConfig", "create_paypal_sandbox"]

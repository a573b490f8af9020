"""PayPal (secondary gateway): Orders v2 checkout and Payments v2 refunds over httpx.

Amounts: our side is integer minor units per ISO-4217 exponent; PayPal's wire format is a
decimal string with a fixed number of decimals per currency (two for most, none for JPY, HUF
and TWD). gateways.paypal.money converts both ways exactly and refuses values with too many
decimals, a sign, or more than 15 integer digits. PayPal never takes INR for this merchant
(domestic INR ended in 2021): such requests raise UnsupportedMethod before any HTTP call.

OAuth: client-credentials token from POST /v1/oauth2/token (HTTP Basic), cached in memory
until shortly before its expires_in (skew: min(config.token_refresh_skew, expires_in / 10)).
Refresh is single flight under an asyncio.Lock, so N concurrent calls with an expired token
cost one token request. A 401 from an API call drops that token, refreshes once and repeats
the call once; a second 401 is a GatewayRejected.

Idempotency: every POST carries a PayPal-Request-Id derived from our ids, so repeating a call
replays PayPal's stored answer instead of acting twice: create = "create-<reference>",
capture = "capture-<PayPal order id>", refund = the caller's RefundRequest.idempotency_key
(hashed if longer than PayPal's 108 characters). PayPal keeps order keys 6 h and payment keys
45 days; a capture repeated later gets ORDER_ALREADY_CAPTURED, which the adapter answers by
reading the order's existing capture.

Webhooks: verify_webhook posts the five PAYPAL-* transmission headers plus the parsed event
and the configured webhook_id to POST /v1/notifications/verify-webhook-signature; SUCCESS
normalises the envelope into a GatewayEvent (event_id = the envelope id "WH-..."), anything
else raises WebhookVerificationFailed, as do missing headers or an unset webhook_id; a body
that is not JSON raises ValueError. With config.self_verify_webhooks the adapter instead
checks SHA256withRSA over "<transmission id>|<transmission time>|<webhook id>|<crc32 of the
raw body, unsigned decimal>" with the certificate at PAYPAL-CERT-URL, fetched only from a host
on config.cert_host_allowlist (https; plain http only for an allow-listed loopback host).
verify_checkout has no signature to check (PayPal's approval returns only the order id): it
accepts a well-formed order id and the service must fetch/capture the order server-side.

Retry policy: the adapter does not retry (apart from the single 401 refresh above); callers
own retries via gateways.retry. Connect errors, connect/pool timeouts, 429 (Retry-After kept
on the error), 5xx and 409 PREVIOUS_REQUEST_IN_PROGRESS raise GatewayUnavailable: retrying is
safe because the retry carries the same PayPal-Request-Id. A POST that was sent but got no
answer (read timeout, dropped connection) raises GatewayOutcomeUnknown: resolve by fetching or
by repeating with the same request id, never with a new one. The same failure on a GET is
GatewayUnavailable. Other 4xx raise GatewayRejected(gateway_code = details[0].issue, else the
error name; reason = details[0].description, else message).
"""

from gateways.paypal.adapter import PayPalGateway
from gateways.paypal.config import PayPalConfig

__all__ = ["PayPalConfig", "PayPalGateway"]

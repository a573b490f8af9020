"""An offline Razorpay: the API paths, entities, errors and webhooks our adapter relies on.

Mounted at /sandbox/razorpay (development and tests only), it serves Razorpay's own paths, so
`razorpay.Client(auth=(key_id, key_secret), base_url="http://HOST/sandbox/razorpay")` and
gateways.razorpay.RazorpayGateway both work against it. Behaviour follows
shared/reference/razorpay.md: Basic auth (401 on a bad key), the error envelope with "NA"
defaults, 400 for unknown ids and routes, the order/payment/refund state machines and amount
rules, refund idempotency (same key + same body replays, a different body is 409), customers
(POST /v1/customers with fail_existing) and their saved-card tokens, and signed webhooks
delivered at least once, retried with backoff on any non-2xx. What happens to a payment
outside our calls (a late authorization, Razorpay's refund of an uncaptured authorization, a
refund made in the dashboard) is lifecycle.py's.

Checkout stand-in: `POST /checkout/{order_id}/pay` plays the browser checkout. The reference's
test instruments decide the outcome (test cards, success@razorpay / failure@razorpay); for
net banking and wallets, whose mock bank page has Success/Failure buttons, the optional body
field `"outcome": "success"|"failure"` presses one (default success). Card numbers are used to
pick the outcome and then dropped: only last4 and the network are kept, nothing is logged.

Checkout script: `GET /v1/checkout.js` is a stand-in for Razorpay's checkout.js, so a shop's
code written for the real one runs unchanged against the sandbox, from a page on any origin
(it finds the sandbox from its own `src`): `new Razorpay(options)` with key, amount, currency,
order_id, name, description, image, prefill {name, email, contact, method}, notes, theme
{color}, handler(response), modal {ondismiss, escape, backdropclose}, `method` (one method or
{card: true, ...}) to limit the methods, customer_id (sent with the payment), `save` ("Save
this card": a token is issued only with a customer_id) and `token` (a saved card, honoured only
with the customer_id it was issued to: no card input; sandbox extras
prefill.card_last4/card_network label it); `rzp.on("payment.failed", cb)` with Razorpay's
{error: {code, description, source, step, reason, metadata: {order_id, payment_id}}};
`rzp.open()`, `rzp.close()`. Ignored: `callback_url` and `redirect` (the handler is always
called), notes (accepted, unused). `open()` shows a dialog whose iframe is the payment form
`GET /checkout/{order_id}`
(labelled Card number, Expiry, CVV, UPI ID, Bank, Wallet, EMI tenure; net banking and wallets
end on a bank page with Success and Failure buttons); the form pays through
`POST /checkout/{order_id}/pay` on its own origin and reports by postMessage, origins checked
on both sides. The same test instruments decide: 4100 2800 0000 1007 pays, 4100 2800 0006 0003
is declined, success@razorpay / failure@razorpay. The files are static/ (package data).

`GET /_control` shows the simulator's state, `POST /_control` changes it: reset, fault
(status, delay, before/after processing, skip, rate), clear_faults, configure (capture, refund
mode, receipt uniqueness, auto-refund of uncaptured authorizations after a delay, webhook
drop/hold/duplicate/reorder), release_webhooks, settle_refund, late_authorize, alter_payment,
pay (an order paid server side, at any time, optionally authorized only), void_authorization
(Razorpay's auto-refund of an uncaptured authorization, now), dashboard_refund (a refund not
made through the API); control.py documents each.

Modules: config (the config and the account's catalogue), state (entities, their indexes, ids),
errors (Razorpay's envelope), api (REST handlers), checkout (the stand-in: pay endpoint,
checkout.js and its form), lifecycle (refunds, late authorization, auto-refund), webhooks
(signing and delivery), control (`/_control`), app (`create_razorpay_sandbox`).
"""

from gateways.sandbox.razorpay.app import create_razorpay_sandbox
from gateways.sandbox.razorpay.config import RazorpaySandboxConfig

__all__ = ["RazorpaySandboxConfig", "create_razorpay_sandbox"]

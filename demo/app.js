// The paygraph checkout demo: order review -> method -> the gateway's checkout -> verifyPayment
// -> live status -> receipt (and refunds for admins). Plain ES modules, no build step.
//
// What to copy into your own checkout:
//   - every API call goes through /graphql (see graphql.js and the documents below);
//   - card data goes only to the gateway's checkout (Razorpay's checkout.js; here the sandbox's
//     stand-in of it), never to your page's code or your API;
//   - the page shows what paymentStatusChanged says, whichever of it and verifyPayment comes first.

import { ApiError, GraphQLClient, SubscriptionClient } from "./graphql.js";
import { checkAmount, formatMoney, toDecimal } from "./checks.js";
import { busy, h } from "./dom.js";
import { AdminEvents } from "./events.js";

// ---------------------------------------------------------------------------------------------
// GraphQL documents

const PAYMENT = `
  id orderId status attemptCount errorCode errorMessage gateway methodType installments
  gatewayOrderId gatewayPaymentId createdAt updatedAt
  amount { amount currency minor } refundedAmount { amount currency minor }
  timeline { at fromStatus toStatus event source note }`;

const REFUND = `id status amount { amount currency } reason gatewayRefundId errorMessage updatedAt`;

const ERRORS = `
  ... on UserError { code message }
  ... on ValidationError { field }`;

const CHECKOUT_OPTIONS = `
query CheckoutOptions($currency: String!, $amount: String) {
  supportedMethods(currency: $currency, amount: $amount) { method gateway emiTenures }
  savedMethods { id gateway methodType last4 network expiryMonth expiryYear expired vpaMasked label isDefault }
  netbankingBanks { code name }
  wallets { code name }
}`;

const INITIATE = `
mutation Initiate($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    __typename
    ... on InitiatePaymentSuccess {
      payment { ${PAYMENT} }
      checkout { gateway keyId gatewayOrderId amountMinor currency approveUrl savedToken scriptUrl customerId }
    }
    ${ERRORS}
    ... on RateLimitedError { retryAfterSeconds }
    ... on DuplicateOrderError { existingPaymentId }
    ... on GatewayError { retryable }
  }
}`;

const VERIFY = `
mutation Verify($input: VerifyPaymentInput!) {
  verifyPayment(input: $input) {
    __typename
    ... on PaymentSuccess { payment { ${PAYMENT} } }
    ${ERRORS}
    ... on GatewayError { retryable }
  }
}`;

const CANCEL = `
mutation Cancel($id: ID!) {
  cancelPayment(id: $id) { __typename ... on PaymentSuccess { payment { ${PAYMENT} } } ... on UserError { code message } }
}`;

const PAYMENT_QUERY = `query Payment($id: ID!) { payment(id: $id) { ${PAYMENT} } }`;

const SET_DEFAULT = `
mutation SetDefault($id: ID!) {
  setDefaultSavedMethod(id: $id) { __typename ... on UserError { code message } }
}`;

const DELETE_SAVED = `
mutation DeleteSaved($id: ID!) {
  deleteSavedMethod(id: $id) { __typename ... on UserError { code message } }
}`;

const SAVED_METHODS = `query { savedMethods { id last4 network isDefault } }`;

const REFUND_PAYMENT = `
mutation Refund($input: RefundPaymentInput!) {
  refundPayment(input: $input) { __typename ... on RefundSuccess { refund { ${REFUND} } } ${ERRORS} }
}`;

const PAYMENT_STATUS = `subscription PaymentStatus($id: ID!) { paymentStatusChanged(paymentId: $id) { ${PAYMENT} } }`;
const REFUND_STATUS = `subscription RefundStatus($id: ID!) { refundStatusChanged(paymentId: $id) { ${REFUND} } }`;

// ---------------------------------------------------------------------------------------------
// The demo shop

const CATALOG = {
  INR: [
    { sku: "saree", name: "Handloom cotton saree", price: 249900 },
    { sku: "diya", name: "Brass diya set (4)", price: 74900 },
  ],
  USD: [
    { sku: "saree", name: "Handloom cotton saree", price: 3900 },
    { sku: "diya", name: "Brass diya set (4)", price: 1250 },
  ],
};

const METHOD_LABELS = {
  CARD: "Card",
  UPI: "UPI",
  NETBANKING: "Net banking",
  WALLET: "Wallet",
  EMI: "EMI on a card",
  PAYPAL: "PayPal",
};

const METHOD_HINTS = {
  CARD: "Credit or debit card",
  UPI: "Pay from any UPI app",
  NETBANKING: "Pay from your bank account",
  WALLET: "Paytm, PhonePe, Amazon Pay…",
  EMI: "Pay in monthly instalments",
  PAYPAL: "Approve with your PayPal account",
};

// Razorpay's Checkout script: the API names it (CheckoutParams.scriptUrl: the sandbox's stand-in
// outside production); the fixed path is the fallback for a checkout stored without one.
const SANDBOX_CHECKOUT_JS = "/sandbox/razorpay/v1/checkout.js";

const SUCCESS = new Set(["COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"]);
const ENDED = new Set(["CANCELLED", "EXPIRED"]);
const SESSION_KEY = "paygraph-demo-session";
const IDENTITY_KEY = "paygraph-demo-identity";

// ---------------------------------------------------------------------------------------------
// State

const state = {
  identity: loadIdentity(),
  token: null,
  tokenAt: 0,
  order: null, // { id, currency, qty: { sku: n } }
  locked: false, // a payment exists for this order: its amount and method are fixed
  options: null,
  input: null, // the initiatePayment input; a retry sends it again to keep the same order
  payment: null,
  checkout: null,
  awaiting: false, // the gateway has the payment: its outcome decides the next screen
  savedNote: null,
  step: null,
  refunds: new Map(),
  stopPayment: null,
  stopRefunds: null,
};

const $ = (id) => document.getElementById(id);

const api = new GraphQLClient({ token: () => token() });
const adminEvents = new AdminEvents(api, $("events"));
const live = new SubscriptionClient({
  url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
  token: () => token(),
  onState: showConnection,
});

// ---------------------------------------------------------------------------------------------
// DOM helpers (h and busy: dom.js)

function banner(message, kind = "error") {
  const node = $("banner");
  node.textContent = message ?? "";
  node.dataset.kind = kind;
  node.hidden = !message;
}

function money(m) {
  return formatMoney(m.amount, m.currency);
}

// ---------------------------------------------------------------------------------------------
// Identity: a development token from POST /demo/token (this endpoint does not exist in production)

function loadIdentity() {
  try {
    const saved = JSON.parse(localStorage.getItem(IDENTITY_KEY));
    if (saved?.customerId) return { customerId: saved.customerId, admin: Boolean(saved.admin) };
  } catch {
    /* fall through */
  }
  return { customerId: "demo-shopper", admin: false };
}

async function token() {
  if (state.token && Date.now() - state.tokenAt < 50 * 60 * 1000) return state.token;
  let response;
  try {
    response = await fetch("/demo/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(state.identity),
    });
  } catch {
    throw new ApiError("NETWORK", "The API cannot be reached. Is `make run` still running?");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError("UNAUTHENTICATED", body.error ?? "No development token.");
  state.token = body.token;
  state.tokenAt = Date.now();
  return state.token;
}

function renderIdentity() {
  $("customer-id").value = state.identity.customerId;
  $("as-admin").checked = state.identity.admin;
  $("identity-status").textContent = `Signed in as ${state.identity.customerId}${state.identity.admin ? " (admin)" : ""}`;
}

async function switchIdentity(event) {
  event.preventDefault();
  const input = $("customer-id");
  if (!input.checkValidity()) {
    $("identity-status").textContent = "Customer ID: 1-64 letters, digits, . _ @ or -";
    input.focus();
    return;
  }
  const next = { customerId: input.value.trim(), admin: $("as-admin").checked };
  const sameCustomer = next.customerId === state.identity.customerId;
  state.identity = next;
  localStorage.setItem(IDENTITY_KEY, JSON.stringify(next));
  state.token = null;
  stopLive();
  renderIdentity();
  adminEvents.show(false);
  try {
    await token();
  } catch (error) {
    banner(error.message);
    return;
  }
  adminEvents.show(state.identity.admin);
  if (sameCustomer && state.payment) {
    // Only the role changed: keep the order, and show (or hide) the admin refund panel.
    watchPayment(state.payment.id);
    if (state.step === "result") renderResult();
  } else {
    newOrder();
  }
}

// ---------------------------------------------------------------------------------------------
// Steps

function showStep(step, { focus = true } = {}) {
  state.step = step;
  for (const name of ["review", "method", "checkout", "result"]) $(`step-${name}`).hidden = name !== step;
  for (const item of document.querySelectorAll(".steps li")) {
    if (item.dataset.step === step) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
  persist();
  if (focus) $(`step-${step}`).querySelector("h1").focus();
}

function orderTotal(order) {
  return CATALOG[order.currency].reduce((sum, item) => sum + item.price * (order.qty[item.sku] ?? 0), 0);
}

function orderAmount(order = state.order) {
  return { amount: toDecimal(orderTotal(order)), currency: order.currency };
}

function newOrderId() {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `DEMO-${Date.now().toString(36).toUpperCase()}-${random[0].toString(36).toUpperCase()}`;
}

function newOrder() {
  stopLive();
  state.order = { id: newOrderId(), currency: state.order?.currency ?? "INR", qty: { saree: 1, diya: 1 } };
  Object.assign(state, { locked: false, input: null, payment: null, checkout: null, awaiting: false, options: null, savedNote: null });
  state.refunds.clear();
  renderLive();
  banner(null);
  renderReview();
  showStep("review");
}

// 1. Order review

function renderReview() {
  const order = state.order;
  $("order-id").textContent = order.id;
  for (const ref of document.querySelectorAll(".order-ref")) ref.textContent = order.id;
  $("currency").value = order.currency;
  $("currency").disabled = state.locked;
  $("review-locked").hidden = !state.locked;
  const rows = CATALOG[order.currency].map((item) => {
    const qtyId = `qty-${item.sku}`;
    const select = h(
      "select",
      { id: qtyId, disabled: state.locked, onchange: (e) => changeQty(item.sku, e.target.value) },
      [0, 1, 2, 3].map((n) => h("option", { value: String(n), selected: order.qty[item.sku] === n, text: String(n) })),
    );
    return h(
      "tr",
      {},
      h("td", { text: item.name }),
      h("td", {}, h("label", { for: qtyId, class: "visually-hidden", text: `Quantity of ${item.name}` }), select),
      h("td", { class: "num", text: formatMoney(toDecimal(item.price * (order.qty[item.sku] ?? 0)), order.currency) }),
    );
  });
  $("items").replaceChildren(...rows);
  const total = orderAmount();
  $("order-total").textContent = money(total);
}

function changeQty(sku, value) {
  state.order.qty[sku] = Number(value);
  renderReview();
  persist();
}

function reviewSubmitted(event) {
  event.preventDefault();
  if (orderTotal(state.order) <= 0) {
    banner("Add at least one item to the order.");
    return;
  }
  banner(null);
  showStep("method");
  loadOptions();
}

// 2. Method selection

async function loadOptions() {
  const amount = orderAmount();
  $("method-amount").textContent = money(amount);
  $("method-loading").hidden = false;
  $("method-error").hidden = true;
  $("method-form").hidden = true;
  try {
    state.options = await api.request(CHECKOUT_OPTIONS, amount);
  } catch (error) {
    $("method-loading").hidden = true;
    $("method-error-text").textContent = `Payment methods could not be loaded: ${error.message}`;
    $("method-error").hidden = false;
    return;
  }
  $("method-loading").hidden = true;
  renderMethods();
  $("method-form").hidden = false;
}

function renderMethods() {
  const { supportedMethods, savedMethods, netbankingBanks, wallets } = state.options;
  const offered = new Set(supportedMethods.map((m) => `${m.method}:${m.gateway}`));
  const usable = savedMethods.filter((s) => offered.has(`${s.methodType}:${s.gateway}`) && !s.expired);
  const lockedTo = state.locked ? state.input : null;

  const saved = savedMethods.map((s) => {
    const id = `saved-${s.id}`;
    const canUse = usable.includes(s) && (!lockedTo || lockedTo.savedMethodId === s.id);
    const title = s.last4 ? `${s.network ?? "Card"} •••• ${s.last4}` : s.vpaMasked ?? s.label;
    const detail = [
      s.expiryMonth ? `expires ${String(s.expiryMonth).padStart(2, "0")}/${String(s.expiryYear).slice(-2)}` : null,
      s.expired ? "expired" : null,
      !usable.includes(s) && !s.expired ? `not for ${state.order.currency}` : null,
    ].filter(Boolean).join(" · ");
    return h(
      "li",
      { class: "saved-item" },
      h(
        "label",
        { class: "choice", for: id },
        h("input", { type: "radio", name: "method", id, value: `saved:${s.id}`, disabled: !canUse }),
        h("span", {}, h("strong", { text: title }), s.isDefault ? h("span", { class: "badge small", text: "Default" }) : null,
          detail ? h("small", { class: "muted", text: ` ${detail}` }) : null),
      ),
      h(
        "div",
        { class: "saved-actions" },
        s.isDefault ? null : h("button", { type: "button", class: "link", "aria-label": `Make ${title} the default`, text: "Make default", onclick: () => setDefault(s.id) }),
        h("button", { type: "button", class: "link danger", "aria-label": `Delete ${title}`, text: "Delete", onclick: () => deleteSaved(s.id, title) }),
      ),
    );
  });
  $("saved-list").replaceChildren(...saved);
  $("saved-empty").hidden = savedMethods.length > 0;

  const methods = supportedMethods.map((m) => {
    const id = `method-${m.method.toLowerCase()}`;
    const disabled = lockedTo && (lockedTo.savedMethodId || lockedTo.paymentMethod !== m.method);
    const extra = methodExtras(m, netbankingBanks, wallets);
    return h(
      "li",
      {},
      h(
        "label",
        { class: "choice", for: id },
        h("input", { type: "radio", name: "method", id, value: m.method, disabled: Boolean(disabled) }),
        h("span", {}, h("strong", { text: METHOD_LABELS[m.method] ?? m.method }), h("small", { class: "muted", text: ` ${METHOD_HINTS[m.method] ?? ""} · ${m.gateway === "PAYPAL" ? "PayPal" : "Razorpay"}` })),
      ),
      extra ? h("div", { class: "extra", id: `${id}-extra`, hidden: true }, extra) : null,
    );
  });
  $("method-list").replaceChildren(...methods);
  $("methods-empty").hidden = supportedMethods.length > 0;
  $("method-pay").hidden = supportedMethods.length === 0;

  // Preselect: what this order already uses, else the default saved method, else the first.
  const form = $("method-form");
  const previous = lockedTo ? (lockedTo.savedMethodId ? `saved:${lockedTo.savedMethodId}` : lockedTo.paymentMethod) : null;
  const preferred = previous ?? (usable.find((s) => s.isDefault) ? `saved:${usable.find((s) => s.isDefault).id}` : supportedMethods[0]?.method);
  const radio = preferred && form.querySelector(`input[name="method"][value="${CSS.escape(preferred)}"]`);
  if (radio && !radio.disabled) radio.checked = true;
  if (lockedTo) {
    if (lockedTo.bank) $("bank").value = lockedTo.bank;
    if (lockedTo.wallet) $("wallet").value = lockedTo.wallet;
    if (lockedTo.paymentMethod === "EMI") $("emi-tenure").value = String(lockedTo.installments);
    for (const select of form.querySelectorAll(".extra select")) select.disabled = true;
  }
  methodChanged();
  $("method-pay").textContent = `Pay ${money(orderAmount())}`;
  delete $("method-pay").dataset.label;
}

function methodExtras(method, banks, wallets) {
  const select = (id, label, options) =>
    h("div", { class: "field" }, h("label", { for: id, text: label }), h("select", { id, name: id }, options));
  if (method.method === "NETBANKING") {
    return select("bank", "Bank", banks.map((b) => h("option", { value: b.code, text: b.name })));
  }
  if (method.method === "WALLET") {
    return select("wallet", "Wallet", wallets.map((w) => h("option", { value: w.code, text: w.name })));
  }
  if (method.method === "EMI") {
    return select("emi-tenure", "EMI tenure", method.emiTenures.map((n) => h("option", { value: String(n), text: `${n} months` })));
  }
  return null;
}

function methodChanged() {
  const chosen = $("method-form").querySelector('input[name="method"]:checked')?.value;
  for (const extra of document.querySelectorAll("#method-list .extra")) {
    extra.hidden = extra.id !== `method-${(chosen ?? "").toLowerCase()}-extra`;
  }
}

async function setDefault(id) {
  await savedAction(SET_DEFAULT, "setDefaultSavedMethod", id, "Default payment method changed.");
}

async function deleteSaved(id, title) {
  await savedAction(DELETE_SAVED, "deleteSavedMethod", id, `${title} was deleted.`);
}

async function savedAction(document_, field_, id, done) {
  try {
    const result = (await api.request(document_, { id }))[field_];
    if (result.__typename.endsWith("Success")) banner(done, "info");
    else banner(result.message);
  } catch (error) {
    banner(error.message);
  }
  await loadOptions();
}

function chosenInput() {
  const chosen = $("method-form").querySelector('input[name="method"]:checked')?.value;
  if (!chosen) return null;
  const { amount, currency } = orderAmount();
  const input = { orderId: state.order.id, amount, currency };
  if (chosen.startsWith("saved:")) {
    const saved = state.options.savedMethods.find((s) => `saved:${s.id}` === chosen);
    return { ...input, paymentMethod: saved.methodType, savedMethodId: saved.id };
  }
  input.paymentMethod = chosen;
  if (chosen === "NETBANKING") input.bank = $("bank").value;
  if (chosen === "WALLET") input.wallet = $("wallet").value;
  if (chosen === "EMI") input.installments = Number($("emi-tenure").value);
  return input;
}

async function methodSubmitted(event) {
  event.preventDefault();
  const input = chosenInput();
  if (!input) {
    banner("Choose how to pay.");
    return;
  }
  banner(null);
  await initiate(input, $("method-pay"));
}

// ---------------------------------------------------------------------------------------------
// initiatePayment: the same input again returns the same payment (and, after a failure, puts
// it back to INITIATED), so a retry never creates a second order.

async function initiate(input, button) {
  busy(button, "Creating the payment…");
  let result;
  try {
    result = (await api.request(INITIATE, { input })).initiatePayment;
  } catch (error) {
    busy(button, null);
    banner(error.message);
    return;
  }
  busy(button, null);
  switch (result.__typename) {
    case "InitiatePaymentSuccess":
      break;
    case "RateLimitedError":
      banner(`Too many attempts: try again in ${result.retryAfterSeconds} s.`);
      return;
    case "DuplicateOrderError":
      banner("This order already has a payment with other details. Start a new order to pay differently.");
      return;
    case "MaxAttemptsExceededError":
      showEnded("No attempts left", `${result.message} Start a new order to try again.`);
      return;
    default:
      banner(result.field ? `${result.message} (${result.field})` : result.message);
      return;
  }
  state.input = input;
  state.locked = true;
  state.checkout = result.checkout;
  state.awaiting = false;
  applyPayment(result.payment);
  watchPayment(result.payment.id);
  if (SUCCESS.has(result.payment.status)) {
    renderResult();
    showStep("result");
    return;
  }
  renderCheckout();
  showStep("checkout");
  if (state.checkout.gateway === "RAZORPAY") openRazorpay($("checkout-form").querySelector("button"));
}

// ---------------------------------------------------------------------------------------------
// 3. The gateway's checkout: Razorpay's checkout.js (its own dialog) or PayPal's approval page;
// the sandbox stands in for both. The card goes to the gateway only.

function renderCheckout() {
  const { checkout, input } = state;
  const form = $("checkout-form");
  const amount = { amount: toDecimal(checkout.amountMinor), currency: checkout.currency };
  $("checkout-amount").textContent = money(amount);
  $("checkout-order").textContent = checkout.gatewayOrderId;
  $("checkout-cancel").hidden = false;

  if (checkout.gateway === "PAYPAL") {
    $("gateway-name").textContent = "PayPal";
    $("gateway-note").textContent =
      "You approve the payment on PayPal's page (here the sandbox's), then come back to this page, which captures it with verifyPayment.";
    form.replaceChildren(
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary paypal", text: "Continue to PayPal" })),
    );
    form.onsubmit = (event) => {
      event.preventDefault();
      persist();
      location.assign(checkout.approveUrl);
    };
    return;
  }

  $("gateway-name").textContent = "Razorpay Checkout";
  $("gateway-note").textContent =
    "Razorpay's checkout.js (here the sandbox's stand-in) opens its own dialog for the card, UPI ID, bank or wallet. This page gets back only the payment id and signature, which verifyPayment checks.";
  const saved = savedMethod();
  form.replaceChildren(
    saved ? h("p", { class: "saved-card" }, "Paying with saved ", h("strong", { text: `${saved.network ?? "card"} •••• ${saved.last4}` })) : "",
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", text: `Pay ${money(amount)}` })),
  );
  form.onsubmit = (event) => {
    event.preventDefault();
    openRazorpay(event.submitter);
  };
}

function savedMethod() {
  const id = state.input?.savedMethodId;
  return id ? state.options?.savedMethods.find((s) => s.id === id) : null;
}

let checkoutScript = null;

function loadCheckoutScript(src) {
  checkoutScript ??= new Promise((resolve, reject) => {
    const script = h("script", { src });
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => {
      checkoutScript = null;
      reject(new Error("Razorpay's checkout could not be loaded."));
    });
    document.head.append(script);
  });
  return checkoutScript;
}

// The shop's side of Razorpay Checkout: the options, then the outcome in handler or
// payment.failed (or ondismiss when the shopper closes the dialog).
async function openRazorpay(button) {
  const { checkout, input } = state;
  try {
    await loadCheckoutScript(checkout.scriptUrl ?? SANDBOX_CHECKOUT_JS);
  } catch (error) {
    banner(error.message);
    return;
  }
  const method = input.paymentMethod.toLowerCase();
  const saved = savedMethod();
  const newCard = method === "card" && !saved;
  const rzp = new window.Razorpay({
    key: checkout.keyId,
    amount: checkout.amountMinor,
    currency: checkout.currency,
    order_id: checkout.gatewayOrderId,
    name: "paygraph demo shop",
    description: `Order ${state.order.id}`,
    method: { [method]: true }, // chosen on the previous step
    prefill: {
      method,
      bank: input.bank,
      wallet: input.wallet,
      emi_duration: input.installments,
      card_last4: saved?.last4,
      card_network: saved?.network,
    },
    // Razorpay saves a card, and takes a saved card's token, only for its customer: the one
    // initiatePayment named for this shopper.
    customer_id: checkout.customerId ?? undefined,
    save: newCard && checkout.customerId ? 1 : 0, // offers "Save this card"
    token: saved ? checkout.savedToken : undefined,
    theme: { color: "#2452d6" },
    // Checkout's success handler: the server checks the signature and captures. Saving is
    // asked for every new card: the server saves it only if the shopper ticked "Save this
    // card" (then Razorpay issued a token).
    handler: (response) =>
      verify(
        {
          paymentId: state.payment.id,
          gatewayPaymentId: response.razorpay_payment_id,
          signature: response.razorpay_signature,
          saveMethod: newCard,
        },
        button,
      ),
    modal: { ondismiss: () => { state.awaiting = false; } },
  });
  rzp.on("payment.failed", ({ error }) => {
    // Record the failed attempt; its reason comes back on the payment. A retry goes through
    // initiatePayment again, which keeps the same order, so this dialog is closed here.
    rzp.close();
    verify({ paymentId: state.payment.id, gatewayPaymentId: error.metadata.payment_id }, button);
  });
  state.awaiting = true;
  rzp.open();
}

async function verify(input, button) {
  busy(button, "Confirming…");
  let result;
  try {
    result = (await api.request(VERIFY, { input })).verifyPayment;
  } catch (error) {
    result = { __typename: "NetworkError", message: error.message };
  }
  if (result.__typename === "PaymentSuccess") {
    applyPayment(result.payment);
    // The card is saved before verifyPayment answers (the live status may arrive earlier).
    if (input.saveMethod && SUCCESS.has(result.payment.status)) noteSavedCard(state.options?.savedMethods ?? []);
    return;
  }
  // The payment is unchanged or failed: show why, with the payment's own state.
  state.awaiting = false;
  try {
    applyPayment((await api.request(PAYMENT_QUERY, { id: state.payment.id })).payment);
  } catch {
    /* keep what we have */
  }
  showFailure(result.message);
}

// PayPal sends the buyer back to PAYPAL_RETURN_URL (in development, /checkout/success, which
// redirects here); the page then captures with verifyPayment(paymentId).
async function resumeFromPayPal(outcome) {
  const restored = restore();
  history.replaceState(null, "", location.pathname);
  if (!restored?.payment) {
    newOrder();
    banner("Back from PayPal, but this tab has no payment in progress.");
    return;
  }
  renderReview();
  watchPayment(state.payment.id);
  if (outcome !== "approved") {
    showFailure("You cancelled at PayPal. Try again, or cancel this payment.");
    return;
  }
  state.awaiting = true;
  renderCheckout();
  showStep("checkout");
  await verify({ paymentId: state.payment.id }, $("checkout-form").querySelector("button"));
}

// ---------------------------------------------------------------------------------------------
// Live status: paymentStatusChanged sends the payment now, then every change.

function watchPayment(paymentId) {
  state.stopPayment?.();
  state.stopPayment = live.subscribe(PAYMENT_STATUS, { id: paymentId }, {
    next: (data) => applyPayment(data.paymentStatusChanged),
    error: (error) => showConnection("down", error.message),
    complete: () => showConnection("done"),
  });
}

function stopLive() {
  state.stopPayment?.();
  state.stopRefunds?.();
  state.stopPayment = state.stopRefunds = null;
  live.close();
}

function applyPayment(payment) {
  const current = state.payment;
  if (current && current.id === payment.id && Date.parse(payment.updatedAt) < Date.parse(current.updatedAt)) return;
  state.payment = payment;
  renderLive();
  persist();
  if (state.step === "checkout" && state.awaiting) {
    if (SUCCESS.has(payment.status)) {
      state.awaiting = false;
      renderResult();
      showStep("result");
    } else if (payment.status === "FAILED") {
      state.awaiting = false;
      showFailure(payment.errorMessage);
    } else if (ENDED.has(payment.status)) {
      state.awaiting = false;
      renderResult();
      showStep("result");
    }
  } else if (state.step === "result" && SUCCESS.has(payment.status)) {
    renderReceipt();
  }
}

function showConnection(connection, detail) {
  const node = $("live-connection");
  const text = {
    idle: "not subscribed",
    connecting: "connecting…",
    live: "live (graphql-transport-ws)",
    reconnecting: "reconnecting…",
    down: `live updates unavailable${detail ? `: ${detail}` : ""}`,
    done: "final status reached",
  }[connection];
  node.dataset.state = connection;
  node.textContent = text;
}

function renderLive() {
  const payment = state.payment;
  $("live-empty").hidden = Boolean(payment);
  $("live-payment").hidden = !payment;
  if (!payment) return;
  $("live-status").textContent = payment.status;
  $("live-status").dataset.status = payment.status;
  $("live-payment-id").textContent = payment.id;
  $("live-timeline").replaceChildren(
    ...payment.timeline.map((entry) =>
      h("li", {},
        h("span", { class: "badge small", "data-status": entry.toStatus, text: entry.toStatus }),
        h("small", { class: "muted", text: ` ${new Date(entry.at).toLocaleTimeString()} · ${entry.source.toLowerCase()}${entry.note ? ` · ${entry.note}` : ""}` })),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// 4. Result: receipt, failure with retry, or the end of the order

function resultActions(...buttons) {
  $("result-actions").replaceChildren(...buttons);
}

const newOrderButton = (primary = false) =>
  h("button", { type: "button", class: primary ? "primary" : "secondary", text: "Start a new order", onclick: newOrder });

function showFailure(reason) {
  const payment = state.payment;
  $("result-title").textContent = "Payment failed";
  $("refunds").hidden = true;
  const attempts = payment ? `Attempt ${payment.attemptCount} on order ${payment.orderId}.` : "";
  $("result-body").replaceChildren(
    h("div", { class: "error-box" },
      h("p", {}, h("strong", { text: "Reason: " }), reason || payment?.errorMessage || "The payment did not go through."),
      h("p", { class: "muted", text: `${attempts} Retrying keeps the same order; you will not be charged twice.` })),
  );
  const retry = h("button", { type: "button", class: "primary", text: "Try again", onclick: (e) => initiate(state.input, e.target) });
  const cancel = h("button", { type: "button", class: "secondary", text: "Cancel payment", onclick: (e) => cancelPayment(e.target) });
  resultActions(retry, cancel);
  showStep("result");
}

function showEnded(title, text) {
  $("result-title").textContent = title;
  $("refunds").hidden = true;
  $("result-body").replaceChildren(h("p", { text }));
  resultActions(newOrderButton(true));
  showStep("result");
}

async function cancelPayment(button) {
  busy(button, "Cancelling…");
  try {
    const result = (await api.request(CANCEL, { id: state.payment.id })).cancelPayment;
    if (result.__typename === "PaymentSuccess") {
      applyPayment(result.payment);
      showEnded("Payment cancelled", `Order ${state.order.id} was not charged.`);
      return;
    }
    banner(result.message);
  } catch (error) {
    banner(error.message);
  }
  busy(button, null);
}

function renderResult() {
  const payment = state.payment;
  if (ENDED.has(payment.status)) {
    showEnded(payment.status === "EXPIRED" ? "Payment expired" : "Payment cancelled", `Order ${payment.orderId} was not charged.`);
    return;
  }
  $("result-title").textContent = "Payment successful";
  renderReceipt();
  resultActions(newOrderButton(true));
  $("refunds").hidden = false;
  $("refund-form").hidden = !state.identity.admin;
  watchRefunds(payment.id);
}

function renderReceipt() {
  const p = state.payment;
  const paidAt = [...p.timeline].reverse().find((e) => e.toStatus === "COMPLETED")?.at ?? p.updatedAt;
  const rows = [
    ["Order", p.orderId],
    ["Amount", money(p.amount)],
    ["Method", `${METHOD_LABELS[p.methodType] ?? p.methodType}${p.installments > 1 ? ` · ${p.installments} months` : ""}`],
    ["Gateway", p.gateway === "PAYPAL" ? "PayPal" : "Razorpay"],
    ["Gateway payment", p.gatewayPaymentId ?? "—"],
    ["Payment ID", p.id],
    ["Status", p.status],
    ["Paid at", new Date(paidAt).toLocaleString()],
  ];
  if (p.refundedAmount.minor > 0) rows.splice(2, 0, ["Refunded", money(p.refundedAmount)]);
  $("result-body").replaceChildren(
    h("p", { class: "success", text: `Thank you! ${money(p.amount)} paid for order ${p.orderId}.` }),
    h("dl", { class: "receipt", "aria-label": "Receipt" }, rows.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
    ...(state.savedNote ? [h("p", { class: "muted", text: state.savedNote })] : []),
  );
  const remaining = toDecimal(p.amount.minor - p.refundedAmount.minor);
  const amount = $("refund-amount");
  if (!amount.matches(":focus")) amount.value = remaining;
  $("refund-amount-hint").textContent = `Up to ${formatMoney(remaining, p.amount.currency)} can be refunded.`;
  $("refund-submit").disabled = p.amount.minor - p.refundedAmount.minor <= 0;
}

// Tells the shopper when this payment's card was saved: a method that was not there before.
async function noteSavedCard(before) {
  const paymentId = state.payment?.id;
  const known = new Set(before.map((s) => s.id));
  try {
    const { savedMethods } = await api.request(SAVED_METHODS);
    const saved = savedMethods.find((s) => !known.has(s.id));
    if (saved && state.payment?.id === paymentId) {
      state.savedNote = `${saved.network ?? "Card"} •••• ${saved.last4} is saved: choose it under “Saved methods” next time.`;
      if (state.step === "result") renderReceipt();
    }
  } catch {
    /* the receipt stands without it */
  }
}

// Refunds: the admin's form and every refund's live status (refundStatusChanged).

function watchRefunds(paymentId) {
  state.stopRefunds?.();
  state.refunds.clear();
  renderRefunds();
  state.stopRefunds = live.subscribe(REFUND_STATUS, { id: paymentId }, {
    next: (data) => upsertRefund(data.refundStatusChanged),
    error: (error) => showConnection("down", error.message),
  });
}

async function upsertRefund(refund) {
  const before = state.refunds.get(refund.id);
  if (before && Date.parse(refund.updatedAt) < Date.parse(before.updatedAt)) return;
  state.refunds.set(refund.id, refund);
  renderRefunds();
  if (refund.status === "COMPLETED" && before?.status !== "COMPLETED") {
    try {
      applyPayment((await api.request(PAYMENT_QUERY, { id: state.payment.id })).payment);
    } catch {
      /* the subscription keeps the refund current; the totals refresh next time */
    }
  }
}

function renderRefunds() {
  const refunds = [...state.refunds.values()];
  $("refunds-empty").hidden = refunds.length > 0;
  $("refund-list").replaceChildren(
    ...refunds.map((r) =>
      h("li", { "data-refund-id": r.id },
        h("strong", { text: money(r.amount) }), " ",
        h("span", { class: "badge", "data-status": r.status, text: r.status }),
        h("small", { class: "muted", text: ` ${r.reason.replace(/_/g, " ").toLowerCase()}${r.gatewayRefundId ? ` · ${r.gatewayRefundId}` : ""}` }),
        r.errorMessage ? h("p", { class: "field-error", text: r.errorMessage }) : null),
    ),
  );
}

async function refundSubmitted(event) {
  event.preventDefault();
  const p = state.payment;
  const amount = $("refund-amount").value.trim();
  const error = checkAmount(amount, toDecimal(p.amount.minor - p.refundedAmount.minor));
  $("refund-error").textContent = error ?? "";
  if (error) {
    $("refund-amount").setAttribute("aria-invalid", "true");
    $("refund-amount").focus();
    return;
  }
  $("refund-amount").removeAttribute("aria-invalid");
  const button = $("refund-submit");
  busy(button, "Refunding…");
  try {
    // One key per refund the admin means: a retry after a lost answer (network error) sends the
    // same key and gets the first refund back; any answer from the API ends that refund's key.
    state.refundKey ??= crypto.randomUUID();
    const input = { paymentId: p.id, amount, reason: $("refund-reason").value, idempotencyKey: state.refundKey };
    const result = (await api.request(REFUND_PAYMENT, { input })).refundPayment;
    state.refundKey = null;
    if (result.__typename === "RefundSuccess") upsertRefund(result.refund);
    else $("refund-error").textContent = result.message;
  } catch (err) {
    $("refund-error").textContent = err.message;
  }
  busy(button, null);
}

// ---------------------------------------------------------------------------------------------
// The tab's session: survives the trip to PayPal and back (never any card data).

function persist() {
  if (!state.order) return;
  const { order, locked, input, payment, checkout, step } = state;
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ order, locked, input, paymentId: payment?.id, payment, checkout: checkout && { ...checkout, savedToken: null }, step }));
}

function restore() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    if (!saved?.order) return null;
    Object.assign(state, { order: saved.order, locked: saved.locked, input: saved.input, payment: saved.payment, checkout: saved.checkout });
    return saved;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

async function boot() {
  $("identity").addEventListener("submit", switchIdentity);
  $("review-form").addEventListener("submit", reviewSubmitted);
  $("currency").addEventListener("change", (e) => {
    state.order.currency = e.target.value;
    renderReview();
    persist();
  });
  $("method-form").addEventListener("submit", methodSubmitted);
  $("method-form").addEventListener("change", (e) => e.target.name === "method" && methodChanged());
  $("method-back").addEventListener("click", () => showStep("review"));
  $("method-reload").addEventListener("click", loadOptions);
  $("checkout-cancel").addEventListener("click", (e) => cancelPayment(e.target));
  $("refund-form").addEventListener("submit", refundSubmitted);
  renderIdentity();
  try {
    await token();
  } catch (error) {
    banner(`No development token: ${error.message}`);
  }
  adminEvents.show(state.identity.admin);
  const params = new URLSearchParams(location.search);
  if (params.has("paypal")) {
    await resumeFromPayPal(params.get("paypal"));
  } else {
    newOrder();
  }
  document.body.dataset.ready = "true";
}

boot();

// The payment form inside checkout.js's dialog (served by the sandbox at /checkout/<order_id>).
// It waits for the options from the page that opened it, pays through this sandbox's own
// /checkout/<order_id>/pay, and tells that page the outcome. Card data goes only to /pay, and
// only the card number: the sandbox decides by it (expiry and CVV are checked here, not sent).
import { checkCard, checkVpa, digitsOnly } from "./checks.js";

const SOURCE = "razorpay-sandbox";
const parentOrigin = new URLSearchParams(location.search).get("origin");
const framed = Boolean(parentOrigin) && parentOrigin !== "null" && window.parent !== window;
const orderId = decodeURIComponent(location.pathname.split("/").pop());
const payUrl = `${location.pathname.replace(/\/$/, "")}/pay`;
const methodsUrl = new URL("../v1/methods", location.href).href;
const METHODS = [
  ["card", "Card"],
  ["upi", "UPI"],
  ["netbanking", "Net banking"],
  ["wallet", "Wallet"],
  ["emi", "EMI"],
];
const WALLET_NAMES = {
  airtelmoney: "Airtel Money", amazonpay: "Amazon Pay", applepay: "Apple Pay", freecharge: "FreeCharge",
  googlepay: "Google Pay", jiomoney: "JioMoney", mobikwik: "MobiKwik", olamoney: "Ola Money",
  paytm: "Paytm", phonepe: "PhonePe",
};
const EXPONENT = { JPY: 0, KWD: 3, BHD: 3, OMR: 3 };

const $ = (id) => document.getElementById(id);
let options = null;
let catalog = null; // GET /v1/methods: banks, wallets, EMI plans
let busy = false;

function tell(type, payload) {
  if (framed) window.parent.postMessage({ source: SOURCE, type, ...payload }, parentOrigin);
}

// --- rendering -------------------------------------------------------------------------------

function formatAmount(minor, currency) {
  const exponent = EXPONENT[currency] ?? 2;
  const text = String(Math.abs(minor)).padStart(exponent + 1, "0");
  const decimal = exponent ? `${text.slice(0, -exponent)}.${text.slice(-exponent)}` : text;
  // Intl formats the decimal string as written, without going through a float.
  return new Intl.NumberFormat(currency === "INR" ? "en-IN" : "en-US", { style: "currency", currency }).format(decimal);
}

function option(value, text, selected) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = text;
  node.selected = selected;
  return node;
}

function offeredMethods() {
  const wanted = options.method && Object.values(options.method).some(Boolean) ? options.method : null;
  return METHODS.filter(([code]) => (!wanted || wanted[code]) && (options.currency === "INR" || code === "card"));
}

function render() {
  const prefill = options.prefill;
  const offered = offeredMethods();
  const chosen = offered.some(([code]) => code === prefill.method) ? prefill.method : offered[0]?.[0];
  $("method-list").replaceChildren(
    ...offered.map(([code, label]) => {
      const input = document.createElement("input");
      Object.assign(input, { type: "radio", name: "method", value: code, checked: code === chosen });
      input.addEventListener("change", showMethod);
      const wrapper = document.createElement("label");
      wrapper.append(input, ` ${label}`);
      return wrapper;
    }),
  );
  $("method-fieldset").hidden = offered.length < 2;
  const payer = [prefill.name, prefill.email, prefill.contact].filter(Boolean).join(" · ");
  $("payer").textContent = payer ? `Paying as ${payer}` : "";
  $("payer").hidden = !payer;
  $("bank").replaceChildren(
    ...Object.entries(catalog.netbanking).map(([code, name]) => option(code, name, code === prefill.bank)),
  );
  $("wallet").replaceChildren(
    ...Object.keys(catalog.wallet).map((code) => option(code, WALLET_NAMES[code] ?? code, code === prefill.wallet)),
  );
  const plans = Object.values(catalog.emi_plans)[0]?.plans ?? {};
  $("emi-duration").replaceChildren(
    ...Object.keys(plans).map((months) => option(months, `${months} months`, months === prefill.emi_duration)),
  );
  $("vpa").value = prefill.vpa ?? "";
  $("save-card-label").hidden = !options.save || Boolean(options.token);
  if (options.token) {
    const label = [prefill.card_network, prefill.card_last4 && `•••• ${prefill.card_last4}`].filter(Boolean).join(" ");
    $("saved-card-text").textContent = `Pay with saved card${label ? ` ${label}` : ""}`;
  }
  $("pay").textContent = `Pay ${formatAmount(options.amount, options.currency)}`;
  document.documentElement.style.setProperty("--brand", options.color);
  $("status").textContent = "";
  $("pay-form").hidden = false;
  showMethod();
  if (!offered.length) problem("No payment method is available for this payment.");
  firstField()?.focus();
}

const method = () => document.querySelector('input[name="method"]:checked')?.value;

function showMethod() {
  const current = method();
  const saved = current === "card" && Boolean(options.token);
  $("saved-card").hidden = !saved;
  $("card-fields").hidden = !(current === "emi" || (current === "card" && !saved));
  for (const name of ["emi", "upi", "netbanking", "wallet"]) $(`${name}-fields`).hidden = current !== name;
  problem(null);
}

function firstField() {
  const panel = ["saved-card", "emi-fields", "card-fields", "upi-fields", "netbanking-fields", "wallet-fields"]
    .map($)
    .find((node) => !node.hidden);
  return (panel && panel.id !== "saved-card" && panel.querySelector("input, select")) || $("pay");
}

function fieldError(id, message) {
  $(`${id}-error`).textContent = message ?? "";
  if (message) $(id).setAttribute("aria-invalid", "true");
  else $(id).removeAttribute("aria-invalid");
}

function problem(message) {
  $("problem").textContent = message ?? "";
  $("problem").hidden = !message;
}

function setBusy(value) {
  busy = value;
  for (const button of document.querySelectorAll("button")) button.disabled = value;
  document.body.setAttribute("aria-busy", String(value));
  $("status").textContent = value ? "Processing…" : "";
}

// --- paying ----------------------------------------------------------------------------------

function cardBody(current) {
  const number = $("card-number").value;
  const errors = checkCard({ number, expiry: $("card-expiry").value, cvv: $("card-cvv").value.trim() });
  const fields = { number: "card-number", expiry: "card-expiry", cvv: "card-cvv" };
  for (const [key, id] of Object.entries(fields)) fieldError(id, errors[key]);
  const first = Object.keys(fields).find((key) => errors[key]);
  if (first) {
    $(fields[first]).focus();
    return null;
  }
  const body = { method: current, card_number: digitsOnly(number) };
  if (current === "emi") body.emi_duration = Number($("emi-duration").value);
  if (current === "card" && $("save-card").checked && !$("save-card-label").hidden) body.save = true;
  return body;
}

function submitted(event) {
  event.preventDefault();
  if (busy) return;
  problem(null);
  const current = method();
  if (current === "card" && options.token) return pay({ method: "card", token: options.token });
  if (current === "card" || current === "emi") {
    const body = cardBody(current);
    return body && pay(body);
  }
  if (current === "upi") {
    const vpa = $("vpa").value.trim();
    const error = checkVpa(vpa);
    fieldError("vpa", error);
    if (error) return $("vpa").focus();
    return pay({ method: "upi", vpa });
  }
  // Net banking and wallets: the bank's page decides, with a Success and a Failure button.
  const select = $(current === "netbanking" ? "bank" : "wallet");
  $("bank-title").textContent = select.selectedOptions[0]?.textContent ?? "";
  $("pay-form").hidden = true;
  $("bank-page").hidden = false;
  $("bank-title").focus();
}

function bankOutcome(outcome) {
  const current = method();
  const key = current === "netbanking" ? "bank" : "wallet";
  pay({ method: current, [key]: $(key).value, outcome });
}

function backToForm() {
  $("bank-page").hidden = true;
  $("pay-form").hidden = false;
  $("pay").focus();
}

async function pay(body) {
  setBusy(true);
  let answer;
  try {
    const response = await fetch(payUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    answer = await response.json();
  } catch {
    answer = { error: { description: "The payment could not be sent. Try again." } };
  }
  setBusy(false);
  if (answer.razorpay_payment_id) {
    $("status").textContent = "Payment successful.";
    tell("success", { response: answer });
    return;
  }
  const error = answer.error ?? {};
  if (!$("bank-page").hidden) backToForm();
  if (error.metadata?.payment_id) {
    // A failed attempt: the page hears payment.failed; another try may follow.
    tell("failed", { error });
    problem(`Payment failed: ${error.description} Try again, or choose another way to pay.`);
    $("pay").focus();
    return;
  }
  // Refused before any attempt (an unknown UPI ID, say): fix the field and pay again.
  const fieldId = { card_number: "card-number", vpa: "vpa" }[error.field];
  if (fieldId && !$(fieldId).closest("[hidden]")) {
    fieldError(fieldId, error.description);
    $(fieldId).focus();
  } else {
    problem(error.description ?? "The payment was refused.");
    $("pay").focus();
  }
}

// --- start -----------------------------------------------------------------------------------

async function start(received) {
  options = received;
  if (options.order_id !== orderId) {
    problem("This form belongs to another order.");
    return;
  }
  try {
    const response = await fetch(methodsUrl);
    if (!response.ok) throw new Error(String(response.status));
    catalog = await response.json();
  } catch {
    problem("The payment methods could not be loaded. Close and try again.");
    $("status").textContent = "";
    return;
  }
  render();
}

window.addEventListener("message", (event) => {
  if (event.source !== window.parent || event.origin !== parentOrigin) return;
  const message = event.data || {};
  if (message.source === SOURCE && message.type === "options" && !options) start(message.options);
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") tell("escape", {});
});
$("pay-form").addEventListener("submit", submitted);
$("pay-form").addEventListener("input", (event) => {
  if (event.target.id && $(`${event.target.id}-error`)) fieldError(event.target.id, null);
});
$("bank-success").addEventListener("click", () => bankOutcome("success"));
$("bank-failure").addEventListener("click", () => bankOutcome("failure"));
$("bank-back").addEventListener("click", backToForm);

if (!framed) {
  problem("Open this form through checkout.js: new Razorpay(options).open().");
} else {
  $("status").textContent = "Loading…";
  tell("ready", {});
  // The dialog fits the form: its height follows this page's.
  new ResizeObserver(() => tell("resize", { height: document.documentElement.scrollHeight })).observe(document.body);
}

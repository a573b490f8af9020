/*
 * A stand-in for Razorpay's Checkout script (checkout.razorpay.com/v1/checkout.js), served by
 * paygraph's Razorpay sandbox at <sandbox>/v1/checkout.js. A shop's code written for the real
 * script runs unchanged against it:
 *
 *   const rzp = new Razorpay({ key, amount, currency, order_id, name, description, image,
 *     prefill: { name, email, contact, method }, notes, theme: { color },
 *     handler(response) { ... razorpay_payment_id, razorpay_order_id, razorpay_signature },
 *     modal: { ondismiss, escape, backdropclose }, customer_id, save, token });
 *   rzp.on("payment.failed", ({ error }) => { ... code, description, source, step, reason,
 *     metadata: { order_id, payment_id } });
 *   rzp.open();  rzp.close();
 *
 * open() shows a modal dialog holding an iframe served by the sandbox (<sandbox>/checkout/
 * <order_id>), which takes the payment and posts it to the sandbox's own /checkout/<order_id>/pay
 * (same origin as the iframe: no CORS). The iframe and this script talk by postMessage, each
 * side checking the other's origin. Card data stays inside the iframe.
 *
 * Supported: the options above; `method` as one method ("upi") or an object ({ card: true,
 * upi: false, ... }) limits the methods offered; `prefill.method` picks the first one shown.
 * `save` (1/true) offers "Save this card"; `token` pays with a saved card (sandbox extras:
 * `prefill.card_last4` and `prefill.card_network` label it). Sandbox conveniences, ignored by
 * the real script: `prefill.bank`, `prefill.wallet`, `prefill.vpa`, `prefill.emi_duration`.
 * Ignored: `callback_url` and `redirect` (the handler is always called), `notes` and
 * `customer_id` (accepted, not used), `retry`, `timeout`, `readonly`, `config`.
 * `amount` and `currency` are what the dialog shows; the sandbox charges the order's amount.
 *
 * Test instruments: cards 4100 2800 0000 1007 (succeeds), 4100 2800 0006 0003 (declined);
 * UPI success@razorpay / failure@razorpay; net banking and wallets end on a bank page with
 * Success and Failure buttons.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script || !script.src) throw new Error("checkout.js must be loaded with a <script src>");
  // The sandbox's base URL, e.g. http://127.0.0.1:8000/sandbox/razorpay
  const sandboxUrl = new URL(script.src, location.href).href.replace(/\/v1\/checkout\.js(\?.*)?$/, "");
  const sandboxOrigin = new URL(sandboxUrl).origin;
  const STYLE_ID = "razorpay-sandbox-style";
  let opened = null; // the Razorpay instance whose dialog is showing

  const CSS = `
    .rzp-sbx-backdrop { position: fixed; inset: 0; z-index: 2147483000; display: flex;
      align-items: center; justify-content: center; background: rgba(12, 18, 32, .6); padding: 1rem; }
    .rzp-sbx-dialog { display: flex; flex-direction: column; width: min(26rem, 100%); max-height: 100%;
      background: #fff; border-radius: 12px; overflow: hidden; box-shadow: 0 12px 40px rgba(0,0,0,.35);
      font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; }
    .rzp-sbx-head { display: flex; align-items: center; gap: .6rem; padding: .7rem .9rem; color: #fff; }
    .rzp-sbx-head img { width: 2.2rem; height: 2.2rem; border-radius: 6px; background: #fff; object-fit: contain; }
    .rzp-sbx-head h2 { font-size: 1rem; margin: 0; }
    .rzp-sbx-head p { font-size: .82rem; margin: 0; opacity: .9; }
    .rzp-sbx-head div { flex: 1; min-width: 0; }
    .rzp-sbx-close { font: inherit; font-size: .85rem; background: rgba(255,255,255,.15); color: #fff;
      border: 1px solid rgba(255,255,255,.6); border-radius: 6px; padding: .3rem .6rem; cursor: pointer; }
    .rzp-sbx-close:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
    .rzp-sbx-frame { border: 0; width: 100%; height: 24rem; max-height: calc(100vh - 7rem); display: block; }
  `;

  function element(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  // What the iframe needs, as plain data (functions do not cross postMessage).
  function frameOptions(options) {
    const pick = (object, keys) =>
      Object.fromEntries(keys.filter((k) => object && object[k] != null).map((k) => [k, String(object[k])]));
    const method = options.method;
    return {
      key: String(options.key),
      amount: Number(options.amount),
      currency: String(options.currency || "INR"),
      order_id: String(options.order_id),
      name: options.name == null ? "" : String(options.name),
      description: options.description == null ? "" : String(options.description),
      prefill: pick(options.prefill, ["name", "email", "contact", "method", "bank", "wallet", "vpa",
        "emi_duration", "card_last4", "card_network"]),
      method: typeof method === "string" ? { [method]: true } : method && typeof method === "object"
        ? Object.fromEntries(Object.entries(method).map(([k, v]) => [k, Boolean(v)])) : null,
      save: Boolean(options.save) && options.save !== "0",
      token: options.token == null ? null : String(options.token),
      color: (options.theme && options.theme.color) || "#2452d6",
    };
  }

  function Razorpay(options) {
    if (!(this instanceof Razorpay)) return new Razorpay(options);
    if (!options || !options.key) throw new Error("Razorpay: the key option is required");
    if (!options.order_id) throw new Error("Razorpay sandbox: order_id is required");
    this.options = options;
    this._listeners = {};
    this._dialog = null;
  }

  Razorpay.prototype.on = function (event, callback) {
    (this._listeners[event] = this._listeners[event] || []).push(callback);
    return this;
  };

  Razorpay.prototype._emit = function (event, payload) {
    for (const callback of this._listeners[event] || []) callback(payload);
  };

  Razorpay.prototype.open = function () {
    if (this._dialog) return this;
    if (opened) opened.close();
    opened = this;
    const options = this.options;
    const modal = options.modal || {};
    if (!document.getElementById(STYLE_ID)) {
      document.head.append(element("style", { id: STYLE_ID, text: CSS }));
    }
    this._returnFocus = document.activeElement;

    const color = (options.theme && options.theme.color) || "#2452d6";
    const titleId = "rzp-sbx-title";
    const close = element("button", { type: "button", class: "rzp-sbx-close", text: "Close" });
    const frameUrl = new URL(`${sandboxUrl}/checkout/${encodeURIComponent(options.order_id)}`);
    frameUrl.searchParams.set("origin", location.origin);
    const frame = element("iframe", {
      class: "rzp-sbx-frame",
      title: "Payment details",
      src: frameUrl.href,
    });
    const title = options.name ? `${options.name} · Razorpay Checkout (sandbox)` : "Razorpay Checkout (sandbox)";
    const header = element(
      "header",
      { class: "rzp-sbx-head" },
      options.image ? element("img", { src: options.image, alt: "" }) : "",
      element(
        "div",
        {},
        element("h2", { id: titleId, text: title }),
        options.description ? element("p", { text: options.description }) : "",
      ),
      close,
    );
    header.style.background = color;
    // Focus stays in the dialog: tabbing past either end wraps to the other.
    const first = element("span", { tabindex: "0", "data-focus-wrap": "start" });
    const last = element("span", { tabindex: "0", "data-focus-wrap": "end" });
    first.addEventListener("focus", () => frame.focus());
    last.addEventListener("focus", () => close.focus());
    const dialog = element(
      "div",
      { class: "rzp-sbx-dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId },
      first,
      header,
      frame,
      last,
    );
    const backdrop = element("div", { class: "rzp-sbx-backdrop" }, dialog);

    const dismiss = () => {
      this.close();
      if (typeof modal.ondismiss === "function") modal.ondismiss();
    };
    close.addEventListener("click", dismiss);
    backdrop.addEventListener("click", (event) => {
      if (event.target === backdrop && modal.backdropclose) dismiss();
    });
    const onKey = (event) => {
      if (event.key === "Escape" && modal.escape !== false) {
        event.preventDefault();
        dismiss();
      }
    };
    const onMessage = (event) => {
      if (event.origin !== sandboxOrigin || event.source !== frame.contentWindow) return;
      const message = event.data || {};
      if (message.source !== "razorpay-sandbox") return;
      if (message.type === "ready") {
        frame.contentWindow.postMessage({ source: "razorpay-sandbox", type: "options", options: frameOptions(options) }, sandboxOrigin);
        frame.focus();
      } else if (message.type === "resize" && Number.isFinite(message.height)) {
        frame.style.height = `${Math.min(Math.max(message.height, 160), 1200)}px`;
      } else if (message.type === "escape") {
        if (modal.escape !== false) dismiss();
      } else if (message.type === "success") {
        const r = message.response;
        this.close();
        if (typeof options.handler === "function") {
          options.handler({
            razorpay_payment_id: r.razorpay_payment_id,
            razorpay_order_id: r.razorpay_order_id,
            razorpay_signature: r.razorpay_signature,
          });
        }
      } else if (message.type === "failed") {
        // Like Razorpay's: the dialog stays open for another try.
        const e = message.error || {};
        const metadata = e.metadata || {};
        this._emit("payment.failed", {
          error: {
            code: e.code,
            description: e.description,
            source: e.source,
            step: e.step,
            reason: e.reason,
            metadata: { order_id: metadata.order_id, payment_id: metadata.payment_id },
          },
        });
      }
    };
    document.addEventListener("keydown", onKey);
    window.addEventListener("message", onMessage);
    this._dialog = { backdrop, cleanup: () => {
      document.removeEventListener("keydown", onKey);
      window.removeEventListener("message", onMessage);
    } };
    document.body.append(backdrop);
    close.focus(); // until the form is ready; then the iframe takes focus
    return this;
  };

  Razorpay.prototype.close = function () {
    if (!this._dialog) return this;
    this._dialog.cleanup();
    this._dialog.backdrop.remove();
    this._dialog = null;
    if (opened === this) opened = null;
    const back = this._returnFocus;
    this._returnFocus = null;
    if (back && typeof back.focus === "function" && document.contains(back)) back.focus();
    return this;
  };

  window.Razorpay = Razorpay;
})();

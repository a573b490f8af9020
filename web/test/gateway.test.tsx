// useGatewayCheckout drives Razorpay Checkout through its documented API only. Here a recording
// stand-in plays checkout.js, so the options and every outcome can be checked exactly.
import { StrictMode, useEffect } from "react";
import { afterEach, describe, expect, test } from "vitest";
import { render, renderHook } from "vitest-browser-react";
import { loadRazorpay, type RazorpayFailure, type RazorpayOptions, type RazorpaySuccess } from "../src/gateways/razorpay.js";
import { commands } from "vitest/browser";
import { CheckoutFlow, useGatewayCheckout, useInitiatePayment, type InitiatedPayment } from "../src/index.js";
import { apiUrl, newCustomer, newOrderId, TEST_CARD, withProvider } from "./support.js";

class RecordingCheckout {
  static last: RecordingCheckout | null = null;
  failed: ((response: RazorpayFailure) => void) | null = null;
  opened = false;
  closed = false;
  constructor(readonly options: RazorpayOptions) {
    RecordingCheckout.last = this;
  }
  on(_event: "payment.failed", callback: (response: RazorpayFailure) => void) {
    this.failed = callback;
  }
  open() {
    this.opened = true;
  }
  close() {
    this.closed = true;
  }
  pay(response: RazorpaySuccess) {
    this.options.handler(response);
  }
}

function installStandIn() {
  const src = new URL("/sandbox/razorpay/v1/checkout.js", apiUrl()).href;
  if (!document.querySelector(`script[src="${src}"]`)) {
    const script = document.createElement("script");
    script.type = "text/plain"; // present, never fetched: window.Razorpay is the recorder
    script.src = src;
    document.head.append(script);
  }
  window.Razorpay = RecordingCheckout as unknown as typeof window.Razorpay;
}

afterEach(() => {
  RecordingCheckout.last = null;
});

async function initiated(token: string, paymentMethod: "CARD" | "UPI" = "CARD"): Promise<InitiatedPayment> {
  const { result } = await renderHook(() => useInitiatePayment(), { wrapper: withProvider(() => token) });
  const answer = await result.current.initiate({ orderId: newOrderId(), amount: "2500.00", currency: "INR", paymentMethod });
  if (!answer.ok) throw new Error(answer.error.message);
  return answer;
}

describe("useGatewayCheckout with Razorpay Checkout", () => {
  test("opens checkout.js with the gateway order and resolves authorized from its handler", async () => {
    installStandIn();
    const { token } = await newCustomer();
    const payment = await initiated(token);
    const { result } = await renderHook(() => useGatewayCheckout(), { wrapper: withProvider(() => token) });
    const outcome = result.current.open(payment, { saveMethod: true, prefill: { email: "a@example.com" } });
    await expect.poll(() => RecordingCheckout.last?.opened).toBe(true);
    const checkout = RecordingCheckout.last!;
    expect(checkout.options).toMatchObject({
      key: payment.checkout.keyId,
      amount: 250000,
      currency: "INR",
      order_id: payment.checkout.gatewayOrderId,
      name: "Test shop",
      prefill: { email: "a@example.com", method: "card" },
      notes: { paygraph_payment_id: payment.payment.id },
      save: 1,
      retry: { enabled: false },
    });
    checkout.pay({ razorpay_payment_id: "pay_1", razorpay_order_id: payment.checkout.gatewayOrderId, razorpay_signature: "sig" });
    await expect(outcome).resolves.toEqual({ status: "authorized", gatewayPaymentId: "pay_1", signature: "sig" });
  });

  test("a failed payment resolves failed (and closes the modal); a dismissed one resolves dismissed", async () => {
    installStandIn();
    const { token } = await newCustomer();
    const { result } = await renderHook(() => useGatewayCheckout(), { wrapper: withProvider(() => token) });
    const failing = result.current.open(await initiated(token, "UPI"));
    await expect.poll(() => RecordingCheckout.last?.opened).toBe(true);
    expect(RecordingCheckout.last!.options.prefill).toMatchObject({ method: "upi" });
    RecordingCheckout.last!.failed!({ error: { code: "BAD_REQUEST_ERROR", description: "Payment failed", reason: "payment_failed", metadata: { payment_id: "pay_2" } } });
    await expect(failing).resolves.toEqual({
      status: "failed",
      gatewayPaymentId: "pay_2",
      error: { kind: "gateway", code: "payment_failed", message: "Payment failed", retryable: true },
    });
    expect(RecordingCheckout.last!.closed).toBe(true);
    const dismissing = result.current.open(await initiated(token));
    await expect.poll(() => RecordingCheckout.last?.opened).toBe(true);
    RecordingCheckout.last!.options.modal!.ondismiss!();
    await expect(dismissing).resolves.toEqual({ status: "dismissed" });
  });

  test("checkout.js is loaded once per page, whatever StrictMode's double effects do", async () => {
    const src = "data:text/javascript,window.checkoutLoads=(window.checkoutLoads||0)+1;window.Razorpay??=function(){};";
    let loads = 0;
    const Loader = () => {
      useEffect(() => {
        loads += 1;
        void loadRazorpay(src).catch(() => {});
      }, []);
      return null;
    };
    await render(
      <StrictMode>
        <Loader />
        <Loader />
      </StrictMode>,
    );
    expect(loads).toBe(4);
    await loadRazorpay(src);
    expect(document.querySelectorAll(`script[src="${CSS.escape(src)}"]`).length).toBe(1);
    expect((window as unknown as { checkoutLoads: number }).checkoutLoads).toBe(1);
  });
});

describe("CheckoutFlow through Razorpay Checkout", () => {
  test("a declined card, then a retry on the same order that succeeds; onSuccess is called once", async () => {
    installStandIn();
    const { token } = await newCustomer();
    const Wrapper = withProvider(() => token);
    const successes: string[] = [];
    const failures: string[] = [];
    const order = { orderId: newOrderId(), amount: "3248.00", currency: "INR" };
    const screen = await render(
      <StrictMode>
        <Wrapper>
          <CheckoutFlow order={order} onSuccess={(p) => successes.push(p.status)} onFailure={(e) => failures.push(e.code)} />
        </Wrapper>
      </StrictMode>,
    );
    await screen.getByRole("button", { name: "Continue to payment" }).click();
    await screen.getByRole("radio", { name: "Card", exact: true }).click();
    await screen.getByRole("button", { name: "Pay ₹3,248.00" }).click();
    await expect.poll(() => RecordingCheckout.last?.opened).toBe(true);
    const first = RecordingCheckout.last!;
    // What checkout.js does with a declined card: the gateway records a failed attempt.
    const declined = (await commands.razorpayPay(first.options.order_id, { method: "card", ...TEST_CARD, card_number: "4100280000060003" })) as unknown as RazorpayFailure;
    expect(declined.error.metadata?.payment_id).toBeTruthy();
    first.failed!(declined);
    await expect.element(screen.getByRole("heading", { name: "Payment failed" })).toBeVisible();
    await expect.element(screen.getByRole("alert")).not.toBeEmptyDOMElement();
    expect(failures).toHaveLength(1);

    await screen.getByRole("button", { name: "Try again" }).click();
    await expect.poll(() => RecordingCheckout.last !== first && RecordingCheckout.last?.opened).toBe(true);
    const second = RecordingCheckout.last!;
    expect(second.options.order_id).toBe(first.options.order_id); // the same order
    const paid = (await commands.razorpayPay(second.options.order_id, { method: "card", ...TEST_CARD })) as unknown as RazorpaySuccess;
    second.pay(paid);
    await expect.element(screen.getByRole("heading", { name: "Payment successful" })).toBeVisible();
    await expect.element(screen.getByLabelText("Receipt")).toHaveTextContent(/₹3,248\.00/);
    await expect.element(screen.getByRole("status")).toHaveTextContent("Payment successful");
    await new Promise((r) => setTimeout(r, 500)); // the live status arrives too: still one call
    expect(successes).toEqual(["COMPLETED"]);
  });

  test("a payment settled elsewhere first (a webhook) stays a success when the checkout reports late", async () => {
    installStandIn();
    const { token } = await newCustomer();
    const Wrapper = withProvider(() => token);
    const successes: string[] = [];
    const screen = await render(
      <Wrapper>
        <CheckoutFlow order={{ orderId: newOrderId(), amount: "750.00", currency: "INR" }} onSuccess={(p) => successes.push(p.id)} />
      </Wrapper>,
    );
    await screen.getByRole("button", { name: "Continue to payment" }).click();
    await screen.getByRole("button", { name: "Pay ₹750.00" }).click();
    await expect.poll(() => RecordingCheckout.last?.opened).toBe(true);
    const checkout = RecordingCheckout.last!;
    const paid = (await commands.razorpayPay(checkout.options.order_id, { method: "card", ...TEST_CARD })) as unknown as RazorpaySuccess;
    const paymentId = checkout.options.notes!.paygraph_payment_id;
    // Someone else confirms it first; the page learns it from the live status.
    await commands.graphql(token, "mutation($input: VerifyPaymentInput!) { verifyPayment(input: $input) { __typename } }", {
      input: { paymentId, gatewayPaymentId: paid.razorpay_payment_id, signature: paid.razorpay_signature },
    });
    await expect.element(screen.getByRole("heading", { name: "Payment successful" })).toBeVisible();
    checkout.pay(paid); // the checkout's handler comes late
    await new Promise((r) => setTimeout(r, 500));
    await expect.element(screen.getByRole("heading", { name: "Payment successful" })).toBeVisible();
    expect(successes).toEqual([paymentId]);
  });

  test("closing the checkout keeps the order: paying again opens the same gateway order", async () => {
    installStandIn();
    const { token } = await newCustomer();
    const Wrapper = withProvider(() => token);
    const screen = await render(
      <Wrapper>
        <CheckoutFlow order={{ orderId: newOrderId(), amount: "499.00", currency: "INR" }} onSuccess={() => {}} />
      </Wrapper>,
    );
    await screen.getByRole("button", { name: "Continue to payment" }).click();
    await screen.getByRole("button", { name: "Pay ₹499.00" }).click();
    await expect.poll(() => RecordingCheckout.last?.opened).toBe(true);
    const first = RecordingCheckout.last!;
    first.options.modal!.ondismiss!();
    await expect.element(screen.getByText("The checkout was closed before paying; you have not been charged.")).toBeVisible();
    await screen.getByRole("button", { name: "Pay ₹499.00" }).click();
    await expect.poll(() => RecordingCheckout.last !== first && RecordingCheckout.last?.opened).toBe(true);
    expect(RecordingCheckout.last!.options.order_id).toBe(first.options.order_id);
  });
});

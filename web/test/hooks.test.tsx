import { describe, expect, test, vi } from "vitest";
import { commands } from "vitest/browser";
import { renderHook } from "vitest-browser-react";
import { useCheckoutOptions, useInitiatePayment, usePaymentStatus, useSavedMethods, useVerifyPayment } from "../src/index.js";
import { newCustomer, newOrderId, TEST_CARD, withProvider } from "./support.js";

const until = (check: () => void) => expect.poll(() => {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}, { timeout: 15_000 }).toBe(true);

describe("useCheckoutOptions", () => {
  test("offers Razorpay's methods in INR and PayPal in USD", async () => {
    const { token } = await newCustomer();
    const inr = await renderHook(() => useCheckoutOptions("INR", "4997.00"), { wrapper: withProvider(() => token) });
    await until(() => expect(inr.result.current.methods.length).toBeGreaterThan(0));
    expect(inr.result.current.methods.map((m) => m.method)).toEqual(expect.arrayContaining(["CARD", "UPI", "NETBANKING", "WALLET", "EMI"]));
    expect(inr.result.current.methods.map((m) => m.method)).not.toContain("PAYPAL");
    const usd = await renderHook(() => useCheckoutOptions("USD", "51.50"), { wrapper: withProvider(() => token) });
    await until(() => expect(usd.result.current.methods.map((m) => m.method)).toContain("PAYPAL"));
  });

  test("a missing token is an auth error value, not an exception", async () => {
    const { result } = await renderHook(() => useCheckoutOptions("INR", "10.00"), { wrapper: withProvider(() => null) });
    await until(() => expect(result.current.error).not.toBeNull());
    expect(result.current.error).toMatchObject({ kind: "auth", code: "UNAUTHENTICATED", retryable: false });
  });

  test("an unreachable API is a network error value", async () => {
    const { result } = await renderHook(() => useCheckoutOptions("INR", "10.00"), {
      wrapper: withProvider(() => "token", { url: "http://127.0.0.1:9/graphql" }),
    });
    await until(() => expect(result.current.error).not.toBeNull());
    expect(result.current.error).toMatchObject({ kind: "network", code: "NETWORK", retryable: true });
  });
});

describe("PaygraphProvider", () => {
  test("asks getToken for every request and for the WebSocket's connection_init", async () => {
    const { token } = await newCustomer();
    const getToken = vi.fn(() => token);
    // One request per call: by hash, this API (no manifest) would also answer each first miss.
    const { result } = await renderHook(() => useInitiatePayment(), { wrapper: withProvider(getToken, { documents: "text" }) });
    const input = { orderId: newOrderId(), amount: "99.00", currency: "INR" };
    const first = await result.current.initiate(input);
    await result.current.initiate(input);
    expect(getToken).toHaveBeenCalledTimes(2);
    if (!first.ok) throw new Error(first.error.message);
    const status = await renderHook(() => usePaymentStatus(first.payment.id), { wrapper: withProvider(getToken, { documents: "text" }) });
    await until(() => expect(status.result.current.connection).toBe("live"));
    expect(getToken).toHaveBeenCalledTimes(3); // the connection's Authorization
  });
});

describe("useInitiatePayment", () => {
  test("the same request answers the same payment; other parameters for the order are a user error", async () => {
    const { token } = await newCustomer();
    const { result } = await renderHook(() => useInitiatePayment(), { wrapper: withProvider(() => token) });
    const input = { orderId: newOrderId(), amount: "1499.00", currency: "INR", paymentMethod: "UPI" as const };
    const first = await result.current.initiate(input);
    const again = await result.current.initiate(input);
    expect(first.ok && again.ok).toBe(true);
    if (!first.ok || !again.ok) return;
    expect(again.payment.id).toBe(first.payment.id);
    expect(first.checkout).toMatchObject({ gateway: "RAZORPAY", amountMinor: 149900, currency: "INR" });
    const other = await result.current.initiate({ ...input, amount: "1.00" });
    expect(other).toMatchObject({ ok: false, error: { kind: "user", code: "DUPLICATE_ORDER", retryable: false } });
  });

  test("a validation error names its field", async () => {
    const { token } = await newCustomer();
    const { result } = await renderHook(() => useInitiatePayment(), { wrapper: withProvider(() => token) });
    const answer = await result.current.initiate({ orderId: newOrderId(), amount: "12.345", currency: "INR" });
    expect(answer).toMatchObject({ ok: false, error: { kind: "user", code: "VALIDATION_ERROR" } });
    if (!answer.ok) expect(answer.error.field).toBeTruthy();
  });
});

describe("usePaymentStatus", () => {
  async function initiated(token: string) {
    const hook = await renderHook(() => ({ start: useInitiatePayment(), confirm: useVerifyPayment() }), { wrapper: withProvider(() => token) });
    const answer = await hook.result.current.start.initiate({ orderId: newOrderId(), amount: "250.00", currency: "INR", paymentMethod: "CARD" });
    if (!answer.ok) throw new Error(answer.error.message);
    return { ...answer, verify: hook.result.current.confirm.verify };
  }

  test("follows the payment live over graphql-transport-ws until it completes", async () => {
    const { token } = await newCustomer();
    const payment = await initiated(token);
    const { result } = await renderHook(() => usePaymentStatus(payment.payment.id), { wrapper: withProvider(() => token) });
    await until(() => expect(result.current).toMatchObject({ status: "INITIATED", connection: "live", isFinal: false }));
    const paid = await commands.razorpayPay(payment.checkout.gatewayOrderId, { method: "card", ...TEST_CARD });
    await payment.verify({ paymentId: payment.payment.id, gatewayPaymentId: String(paid.razorpay_payment_id), signature: String(paid.razorpay_signature) });
    await until(() => expect(result.current).toMatchObject({ status: "COMPLETED", isFinal: true, connection: "idle" }));
  });

  test("polls payment(id) while the WebSocket is down", async () => {
    const { token } = await newCustomer();
    const payment = await initiated(token);
    const { result } = await renderHook(() => usePaymentStatus(payment.payment.id, { pollIntervalMs: 300, graceMs: 200 }), {
      wrapper: withProvider(() => token, { wsUrl: "ws://127.0.0.1:9/graphql" }),
    });
    await until(() => expect(result.current).toMatchObject({ status: "INITIATED", connection: "polling" }));
    const paid = await commands.razorpayPay(payment.checkout.gatewayOrderId, { method: "card", ...TEST_CARD });
    await payment.verify({ paymentId: payment.payment.id, gatewayPaymentId: String(paid.razorpay_payment_id), signature: String(paid.razorpay_signature) });
    await until(() => expect(result.current).toMatchObject({ status: "COMPLETED", isFinal: true }));
  });
});

describe("useSavedMethods", () => {
  test("lists saved cards, changes the default and deletes", async () => {
    const { token } = await newCustomer();
    const { payByCard } = await import("./support.js");
    await payByCard(token, { save: true });
    await payByCard(token, { save: true, card: { card_number: "5104015555555558" } });
    const { result } = await renderHook(() => useSavedMethods(), { wrapper: withProvider(() => token) });
    await until(() => expect(result.current.methods).toHaveLength(2));
    const other = result.current.methods.find((m) => !m.isDefault);
    expect(other).toBeDefined();
    expect(await result.current.setDefault(other!.id)).toBeNull();
    await until(() => expect(result.current.methods.find((m) => m.isDefault)?.id).toBe(other!.id));
    expect(await result.current.remove(other!.id)).toBeNull();
    await until(() => expect(result.current.methods).toHaveLength(1));
    expect(await result.current.remove("000000000000000000000000")).toMatchObject({ kind: "user", code: "NOT_FOUND" });
  });
});

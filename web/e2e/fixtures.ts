import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, type Page } from "@playwright/test";

export const API = () => process.env.PAYGRAPH_E2E_API_URL!;
export const TEST_CARD = { number: "4100 2800 0000 1007", declined: "4100 2800 0006 0003", expiry: "12/31", cvv: "123" };

/** `api`: the API the project's shop talks to (the "trusted" project has its own). */
export interface E2eOptions {
  api: string;
}

/** A page of the example shop for a fresh customer; fails the test on any console error. */
export const test = base.extend<E2eOptions & { shop: Page; customer: string }>({
  api: [API(), { option: true }],
  customer: async ({}, use) => {
    await use(`e2e-${Math.random().toString(36).slice(2, 10)}`);
  },
  shop: async ({ page, customer, api }, use) => {
    const errors: string[] = [];
    page.on("console", (message) => {
      // The gateway's own frame is not the shop's page (the stand-in's pay call answers 400
      // for a declined card, as Razorpay's does, and Chromium logs that).
      if (message.type() === "error" && !message.location().url.startsWith(`${api}/sandbox/`)) errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`/?customer=${customer}`);
    await use(page);
    expect(errors, "console errors").toEqual([]);
  },
});
export { expect };

export async function token(customerId: string): Promise<string> {
  const answer = await fetch(`${API()}/demo/token`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ customerId }) });
  return ((await answer.json()) as { token: string }).token;
}

export async function graphql(customerId: string, query: string, variables: Record<string, unknown> = {}) {
  const answer = await fetch(`${API()}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${await token(customerId)}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await answer.json()) as { data: any };
}

/** Saves a card for the customer the way a browser checkout would (pay with save, verify). */
export async function saveCard(customerId: string, cardNumber: string) {
  const orderId = `SEED-${Math.random().toString(36).slice(2, 10)}`.toUpperCase();
  const started = await graphql(customerId, `mutation($input: InitiatePaymentInput!) { initiatePayment(input: $input) {
    ... on InitiatePaymentSuccess { payment { id } checkout { gatewayOrderId customerId } } } }`, { input: { orderId, amount: "10.00", currency: "INR" } });
  const { payment, checkout } = started.data.initiatePayment;
  const paid = await (await fetch(`${API()}/sandbox/razorpay/checkout/${checkout.gatewayOrderId}/pay`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ method: "card", card_number: cardNumber, card_expiry_month: 12, card_expiry_year: 2031, card_cvv: "123", save: true, customer_id: checkout.customerId }),
  })).json();
  const verified = await graphql(customerId, `mutation($input: VerifyPaymentInput!) { verifyPayment(input: $input) {
    __typename ... on UserError { code message } } }`, {
    input: { paymentId: payment.id, gatewayPaymentId: paid.razorpay_payment_id, signature: paid.razorpay_signature, saveMethod: true },
  });
  const result = verified.data?.verifyPayment;
  if (result?.__typename !== "PaymentSuccess") throw new Error(`saveCard: verify answered ${JSON.stringify(verified)}`);
  const saved = await graphql(customerId, "{ savedMethods { last4 } }");
  const last4 = cardNumber.slice(-4);
  if (!saved.data?.savedMethods?.some((m: { last4: string | null }) => m.last4 === last4)) {
    throw new Error(`saveCard: the card ending ${last4} was not saved: ${JSON.stringify(saved)}`);
  }
}

export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`)).toEqual([]);
}

export const checkout = (page: Page) => page.getByRole("region", { name: "Checkout" });

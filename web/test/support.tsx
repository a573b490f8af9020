import type { ReactNode } from "react";
import { inject } from "vitest";
import { commands } from "vitest/browser";
import { PaygraphProvider, type DocumentsMode } from "../src/index.js";

export const apiUrl = () => `${inject("paygraphUrl")}/graphql`;

/** A fresh customer (so tests never see each other's payments) and a token for it. */
export async function newCustomer(prefix = "web") {
  const id = `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
  return { id, token: await commands.paygraphToken(id) };
}

export const newOrderId = (prefix = "WEB") => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`.toUpperCase();

export function withProvider(
  getToken: () => string | null | Promise<string | null>,
  options: { url?: string; wsUrl?: string; documents?: DocumentsMode } = {},
) {
  return function Wrapper({ children }: { children: ReactNode }) {
    return (
      <PaygraphProvider url={options.url ?? apiUrl()} wsUrl={options.wsUrl} getToken={getToken} merchantName="Test shop" documents={options.documents}>
        {children}
      </PaygraphProvider>
    );
  };
}

export const TEST_CARD = { card_number: "4100280000001007", card_expiry_month: 12, card_expiry_year: 2031, card_cvv: "123" };

const INITIATE = `mutation($input: InitiatePaymentInput!) { initiatePayment(input: $input) { __typename
  ... on InitiatePaymentSuccess { payment { id } checkout { gatewayOrderId customerId } } ... on UserError { code message } } }`;
const VERIFY = `mutation($input: VerifyPaymentInput!) { verifyPayment(input: $input) { __typename
  ... on PaymentSuccess { payment { id status } } ... on UserError { code message } } }`;

/** A completed card payment made the way a browser would (initiate, the gateway's checkout,
 * verify); with `save`, the card is saved. Answers the payment id. */
export async function payByCard(token: string, options: { save?: boolean; card?: Partial<typeof TEST_CARD> } = {}) {
  const input = { orderId: newOrderId("SEED"), amount: "499.00", currency: "INR", paymentMethod: "CARD" };
  const initiated = (await commands.graphql(token, INITIATE, { input })).data.initiatePayment;
  const paid = await commands.razorpayPay(initiated.checkout.gatewayOrderId, {
    method: "card",
    ...TEST_CARD,
    ...options.card,
    // Razorpay issues a card token only for its customer (the checkout names it).
    ...(options.save ? { save: true, customer_id: initiated.checkout.customerId } : {}),
  });
  const verified = await commands.graphql(token, VERIFY, {
    input: {
      paymentId: initiated.payment.id,
      gatewayPaymentId: paid.razorpay_payment_id,
      signature: paid.razorpay_signature,
      saveMethod: Boolean(options.save),
    },
  });
  if (verified.data.verifyPayment.__typename !== "PaymentSuccess") throw new Error(JSON.stringify(verified));
  return initiated.payment.id as string;
}

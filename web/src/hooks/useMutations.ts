// useInitiatePayment and useVerifyPayment: each answers a value or a PaygraphError, never throws.
import { useCallback, useState } from "react";
import { CancelPaymentDocument, InitiatePaymentDocument, VerifyPaymentDocument } from "../documents.js";
import type { PaygraphError } from "../errors.js";
import type { VerifyPaymentInput } from "../gql/graphql.js";
import { usePaygraph } from "../provider.js";
import type { InitiatedPayment, InitiatePaymentInput, Payment } from "../types.js";
import { runMutation, unionOutcome } from "./operations.js";

export type InitiateResult = ({ ok: true } & InitiatedPayment) | { ok: false; error: PaygraphError };
export type PaymentResult = { ok: true; payment: Payment } | { ok: false; error: PaygraphError };

interface MutationState {
  loading: boolean;
  error: PaygraphError | null;
}

function useTracked<A extends unknown[], R extends { ok: boolean; error?: PaygraphError }>(run: (...args: A) => Promise<R>) {
  const [state, setState] = useState<MutationState>({ loading: false, error: null });
  const call = useCallback(
    async (...args: A) => {
      setState({ loading: true, error: null });
      const result = await run(...args);
      setState({ loading: false, error: result.ok ? null : (result.error ?? null) });
      return result;
    },
    [run],
  );
  return [state, call] as const;
}

/** `initiate(input)` creates (or, for the same orderId and parameters, returns) the payment and
 * its gateway order. After a failed attempt the same call retries the same order. */
export function useInitiatePayment() {
  const { client } = usePaygraph();
  const run = useCallback(
    async (input: InitiatePaymentInput): Promise<InitiateResult> => {
      const outcome = await runMutation(client, InitiatePaymentDocument, { input });
      if (!outcome.ok) return outcome;
      const union = unionOutcome(outcome.value.initiatePayment, "InitiatePaymentSuccess");
      return union.ok ? { ok: true, payment: union.value.payment, checkout: union.value.checkout } : union;
    },
    [client],
  );
  const [state, initiate] = useTracked(run);
  return { initiate, ...state };
}

/** `verify(input)` confirms what the gateway's checkout reported: Razorpay's payment id and
 * signature, or just the payment id after a PayPal approval (which captures it). */
export function useVerifyPayment() {
  const { client } = usePaygraph();
  const run = useCallback(
    async (input: VerifyPaymentInput): Promise<PaymentResult> => {
      const outcome = await runMutation(client, VerifyPaymentDocument, { input });
      if (!outcome.ok) return outcome;
      const union = unionOutcome(outcome.value.verifyPayment, "PaymentSuccess");
      return union.ok ? { ok: true, payment: union.value.payment } : union;
    },
    [client],
  );
  const [state, verify] = useTracked(run);
  return { verify, ...state };
}

/** `cancel(paymentId)`: the customer gives up; an unpaid payment becomes CANCELLED. */
export function useCancelPayment() {
  const { client } = usePaygraph();
  const run = useCallback(
    async (id: string): Promise<PaymentResult> => {
      const outcome = await runMutation(client, CancelPaymentDocument, { id });
      if (!outcome.ok) return outcome;
      const union = unionOutcome(outcome.value.cancelPayment, "PaymentSuccess");
      return union.ok ? { ok: true, payment: union.value.payment } : union;
    },
    [client],
  );
  const [state, cancel] = useTracked(run);
  return { cancel, ...state };
}

// useInitiatePayment, useVerifyPayment and useCancelPayment: each answers a value or a
// PaygraphError, never throws.
import { useCallback, useState } from "react";
import type { AnyVariables, TypedDocumentNode } from "@urql/core";
import { CancelPaymentDocument, InitiatePaymentDocument, VerifyPaymentDocument } from "../documents.js";
import type { PaygraphError } from "../errors.js";
import type { VerifyPaymentInput } from "../gql/graphql.js";
import { usePaygraph } from "../provider.js";
import type { InitiatedPayment, InitiatePaymentInput, Payment } from "../types.js";
import { runMutation, unionOutcome } from "./operations.js";

export type InitiateResult = ({ ok: true } & InitiatedPayment) | { ok: false; error: PaygraphError };
export type PaymentResult = { ok: true; payment: Payment } | { ok: false; error: PaygraphError };

type Failure = { ok: false; error: PaygraphError };

/** One mutation whose result is a union: `pick` turns its success member into the answer. */
function useUnionMutation<Data, Variables extends AnyVariables, Args extends unknown[], Union extends { __typename?: string }, S extends string, R>(
  document: TypedDocumentNode<Data, Variables>,
  variables: (...args: Args) => Variables,
  union: (data: Data) => Union,
  success: S,
  pick: (member: Extract<Union, { __typename: S }>) => R,
) {
  const { client } = usePaygraph();
  const [state, setState] = useState<{ loading: boolean; error: PaygraphError | null }>({ loading: false, error: null });
  const run = useCallback(
    async (...args: Args): Promise<({ ok: true } & R) | Failure> => {
      setState({ loading: true, error: null });
      const outcome = await runMutation(client, document, variables(...args));
      const member = outcome.ok ? unionOutcome(union(outcome.value), success) : outcome;
      const answer: ({ ok: true } & R) | Failure = member.ok ? { ok: true, ...pick(member.value) } : member;
      setState({ loading: false, error: answer.ok ? null : answer.error });
      return answer;
    },
    // The document, mappers and typename are module constants at every call site.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [client],
  );
  return [run, state] as const;
}

/** `initiate(input)` creates (or, for the same orderId and parameters, returns) the payment and
 * its gateway order. After a failed attempt the same call retries the same order. */
export function useInitiatePayment() {
  const [initiate, state] = useUnionMutation(
    InitiatePaymentDocument,
    (input: InitiatePaymentInput) => ({ input }),
    (data) => data.initiatePayment,
    "InitiatePaymentSuccess",
    (success) => ({ payment: success.payment, checkout: success.checkout }),
  );
  const typed: (input: InitiatePaymentInput) => Promise<InitiateResult> = initiate;
  return { initiate: typed, ...state };
}

/** `verify(input)` confirms what the gateway's checkout reported: Razorpay's payment id and
 * signature, or just the payment id after a PayPal approval (which captures it). */
export function useVerifyPayment() {
  const [verify, state] = useUnionMutation(
    VerifyPaymentDocument,
    (input: VerifyPaymentInput) => ({ input }),
    (data) => data.verifyPayment,
    "PaymentSuccess",
    (success) => ({ payment: success.payment }),
  );
  const typed: (input: VerifyPaymentInput) => Promise<PaymentResult> = verify;
  return { verify: typed, ...state };
}

/** `cancel(paymentId)`: the customer gives up; an unpaid payment becomes CANCELLED. */
export function useCancelPayment() {
  const [cancel, state] = useUnionMutation(
    CancelPaymentDocument,
    (id: string) => ({ id }),
    (data) => data.cancelPayment,
    "PaymentSuccess",
    (success) => ({ payment: success.payment }),
  );
  const typed: (id: string) => Promise<PaymentResult> = cancel;
  return { cancel: typed, ...state };
}

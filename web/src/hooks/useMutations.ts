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

/** A mutation whose result is a union, and how to call it and read its success member. */
interface UnionMutation<Data, Variables extends AnyVariables, Args extends unknown[], Union extends { __typename?: string }, S extends string, R> {
  document: TypedDocumentNode<Data, Variables>;
  variables: (...args: Args) => Variables;
  union: (data: Data) => Union;
  success: S;
  pick: (member: Extract<Union, { __typename: S }>) => R;
}

const spec = <Data, Variables extends AnyVariables, Args extends unknown[], Union extends { __typename?: string }, S extends string, R>(
  mutation: UnionMutation<Data, Variables, Args, Union, S, R>,
) => mutation;

const INITIATE = spec({
  document: InitiatePaymentDocument,
  variables: (input: InitiatePaymentInput) => ({ input }),
  union: (data) => data.initiatePayment,
  success: "InitiatePaymentSuccess",
  pick: (success) => ({ payment: success.payment, checkout: success.checkout }),
});

const VERIFY = spec({
  document: VerifyPaymentDocument,
  variables: (input: VerifyPaymentInput) => ({ input }),
  union: (data) => data.verifyPayment,
  success: "PaymentSuccess",
  pick: (success) => ({ payment: success.payment }),
});

const CANCEL = spec({
  document: CancelPaymentDocument,
  variables: (id: string) => ({ id }),
  union: (data) => data.cancelPayment,
  success: "PaymentSuccess",
  pick: (success) => ({ payment: success.payment }),
});

function useUnionMutation<Data, Variables extends AnyVariables, Args extends unknown[], Union extends { __typename?: string }, S extends string, R>(
  mutation: UnionMutation<Data, Variables, Args, Union, S, R>,
) {
  const { client } = usePaygraph();
  const [state, setState] = useState<{ loading: boolean; error: PaygraphError | null }>({ loading: false, error: null });
  const run = useCallback(
    async (...args: Args): Promise<({ ok: true } & R) | Failure> => {
      setState({ loading: true, error: null });
      const outcome = await runMutation(client, mutation.document, mutation.variables(...args));
      const member = outcome.ok ? unionOutcome(mutation.union(outcome.value), mutation.success) : outcome;
      const answer: ({ ok: true } & R) | Failure = member.ok ? { ok: true, ...mutation.pick(member.value) } : member;
      setState({ loading: false, error: answer.ok ? null : answer.error });
      return answer;
    },
    [client, mutation],
  );
  return [run, state] as const;
}

/** `initiate(input)` creates (or, for the same orderId and parameters, returns) the payment and
 * its gateway order. After a failed attempt the same call retries the same order. */
export function useInitiatePayment() {
  const [initiate, state] = useUnionMutation(INITIATE);
  const typed: (input: InitiatePaymentInput) => Promise<InitiateResult> = initiate;
  return { initiate: typed, ...state };
}

/** `verify(input)` confirms what the gateway's checkout reported: Razorpay's payment id and
 * signature, or just the payment id after a PayPal approval (which captures it). */
export function useVerifyPayment() {
  const [verify, state] = useUnionMutation(VERIFY);
  const typed: (input: VerifyPaymentInput) => Promise<PaymentResult> = verify;
  return { verify: typed, ...state };
}

/** `cancel(paymentId)`: the customer gives up; an unpaid payment becomes CANCELLED. */
export function useCancelPayment() {
  const [cancel, state] = useUnionMutation(CANCEL);
  const typed: (id: string) => Promise<PaymentResult> = cancel;
  return { cancel: typed, ...state };
}

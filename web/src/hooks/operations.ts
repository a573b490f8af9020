// One request helper for the hooks: run a document, answer a value or a PaygraphError.
import type { Client, AnyVariables, TypedDocumentNode } from "@urql/core";
import { fromCombinedError, fromUserError, type PaygraphError } from "../errors.js";

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: PaygraphError };

export async function runMutation<Data, Variables extends AnyVariables>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Promise<Outcome<Data>> {
  const result = await client.mutation(document, variables).toPromise();
  if (result.error || !result.data) {
    return { ok: false, error: result.error ? fromCombinedError(result.error) : fromUserError({}) };
  }
  return { ok: true, value: result.data };
}

export async function runQuery<Data, Variables extends AnyVariables>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Promise<Outcome<Data>> {
  const result = await client.query(document, variables, { requestPolicy: "network-only" }).toPromise();
  if (result.error || !result.data) {
    return { ok: false, error: result.error ? fromCombinedError(result.error) : fromUserError({}) };
  }
  return { ok: true, value: result.data };
}

/** A result union: its success member by __typename, or its UserError as a PaygraphError. */
export function unionOutcome<U extends { __typename?: string }, S extends string>(
  union: U,
  success: S,
): Outcome<Extract<U, { __typename: S }>> {
  if (union.__typename === success) return { ok: true, value: union as Extract<U, { __typename: S }> };
  return { ok: false, error: fromUserError(union) };
}

// Errors are values: every hook and component reports a PaygraphError instead of throwing.
import type { CombinedError } from "@urql/core";

export type PaygraphErrorKind = "user" | "gateway" | "network" | "auth";

export interface PaygraphError {
  /** user: fix the input or start again; gateway: the gateway refused or failed; network: the
   * API could not be reached or failed unexpectedly; auth: the token is missing or refused. */
  kind: PaygraphErrorKind;
  /** A stable code: the API's UserError code (DUPLICATE_ORDER, GATEWAY_REJECTED, ...), the
   * gateway's reason, or NETWORK / UNAUTHENTICATED / FORBIDDEN / SCRIPT_LOAD_FAILED. */
  code: string;
  /** For people. */
  message: string;
  /** The input field at fault, when one is. */
  field?: string;
  /** Whether the same request may succeed later. */
  retryable: boolean;
  /** RATE_LIMITED: when to try again. */
  retryAfterSeconds?: number;
}

/** What the result unions' error members carry (any subset of it). */
interface UserErrorFields {
  __typename?: string;
  code?: string;
  message?: string;
  field?: string | null;
  retryable?: boolean;
  retryAfterSeconds?: number;
}

const AUTH_CODES = new Set(["UNAUTHENTICATED", "FORBIDDEN"]);
const RETRYABLE_USER_CODES = new Set(["RATE_LIMITED"]);

export function paygraphError(
  kind: PaygraphErrorKind,
  code: string,
  message: string,
  extra: Partial<Pick<PaygraphError, "field" | "retryable" | "retryAfterSeconds">> = {},
): PaygraphError {
  const error: PaygraphError = { kind, code, message, retryable: extra.retryable ?? false };
  if (extra.field) error.field = extra.field;
  if (extra.retryAfterSeconds !== undefined) error.retryAfterSeconds = extra.retryAfterSeconds;
  return error;
}

/** A mutation result union's error member, by its __typename and code. */
export function fromUserError(result: UserErrorFields): PaygraphError {
  const code = result.code ?? "UNKNOWN";
  const message = result.message ?? "The request was refused.";
  const typename = result.__typename ?? "";
  if (AUTH_CODES.has(code) || typename === "ForbiddenError" || typename === "UnauthenticatedError") {
    return paygraphError("auth", code, message);
  }
  if (typename === "GatewayError" || typename === "InvalidSignatureError") {
    return paygraphError("gateway", code, message, { retryable: result.retryable ?? false });
  }
  return paygraphError("user", code, message, {
    field: result.field ?? undefined,
    retryable: RETRYABLE_USER_CODES.has(code),
    retryAfterSeconds: result.retryAfterSeconds,
  });
}

/** A transport or top-level GraphQL error from urql. */
export function fromCombinedError(error: CombinedError): PaygraphError {
  const response = error.response as { status?: number } | undefined;
  const first = error.graphQLErrors[0];
  const code = String(first?.extensions?.code ?? "");
  const network = error.networkError as (Error & { code?: number }) | undefined;
  if (network?.name === "TokenUnavailable") {
    return paygraphError("auth", "UNAUTHENTICATED", `No token to call the payment service: ${network.message}`, { retryable: true });
  }
  if (network?.code === 4401 || network?.code === 4403) {
    return paygraphError("auth", network.code === 4401 ? "UNAUTHENTICATED" : "FORBIDDEN", "Sign in again to see live payment updates.");
  }
  if (response?.status === 401 || AUTH_CODES.has(code) || /authentication required/i.test(first?.message ?? "")) {
    return paygraphError("auth", code || "UNAUTHENTICATED", first?.message ?? "Sign in again to pay.");
  }
  if (first && code === "PAN_NOT_ACCEPTED") {
    const field = first.extensions?.field;
    return paygraphError("user", code, first.message, { field: typeof field === "string" ? field : undefined });
  }
  if (first && code === "RATE_LIMITED") {
    return paygraphError("user", code, first.message, { retryable: true });
  }
  if (error.networkError || !first) {
    return paygraphError("network", "NETWORK", "The payment service cannot be reached. Check your connection and try again.", {
      retryable: true,
    });
  }
  // The server does not have the document this package names (deploy its manifest): no retry helps.
  const refused = code === "PERSISTED_QUERY_NOT_FOUND" || code === "TRUSTED_DOCUMENTS_ONLY";
  return paygraphError("network", code || "GRAPHQL_ERROR", first.message, { retryable: !refused });
}

/** What a gateway's checkout reported for a failed attempt. */
export function fromGatewayFailure(code: string | undefined, message: string | undefined): PaygraphError {
  return paygraphError("gateway", code || "PAYMENT_FAILED", message || "The payment did not go through.", { retryable: true });
}

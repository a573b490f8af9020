/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment PaymentFields on Payment {\n    id\n    orderId\n    status\n    amount { amount currency minor }\n    refundedAmount { amount currency minor }\n    gateway\n    methodType\n    gatewayOrderId\n    gatewayPaymentId\n    attemptCount\n    installments\n    errorCode\n    errorMessage\n    createdAt\n    updatedAt\n    expiresAt\n  }\n": typeof types.PaymentFieldsFragmentDoc,
    "\n  fragment SavedMethodFields on SavedMethod {\n    id\n    gateway\n    methodType\n    last4\n    network\n    expiryMonth\n    expiryYear\n    expired\n    vpaMasked\n    label\n    isDefault\n  }\n": typeof types.SavedMethodFieldsFragmentDoc,
    "\n  query CheckoutOptions($currency: String!, $amount: String) {\n    supportedMethods(currency: $currency, amount: $amount) { method gateway emiTenures }\n    netbankingBanks { code name }\n    wallets { code name }\n  }\n": typeof types.CheckoutOptionsDocument,
    "\n  query SavedMethods {\n    savedMethods { ...SavedMethodFields }\n  }\n": typeof types.SavedMethodsDocument,
    "\n  query Payment($id: ID!) {\n    payment(id: $id) { ...PaymentFields }\n  }\n": typeof types.PaymentDocument,
    "\n  subscription PaymentStatus($id: ID!) {\n    paymentStatusChanged(paymentId: $id) { ...PaymentFields }\n  }\n": typeof types.PaymentStatusDocument,
    "\n  mutation InitiatePayment($input: InitiatePaymentInput!) {\n    initiatePayment(input: $input) {\n      ... on InitiatePaymentSuccess {\n        payment { ...PaymentFields }\n        checkout { gateway keyId gatewayOrderId amountMinor currency approveUrl savedToken }\n      }\n      ... on UserError { code message }\n      ... on ValidationError { field }\n      ... on PanNotAcceptedError { field }\n      ... on GatewayError { retryable gatewayCode }\n      ... on RateLimitedError { retryAfterSeconds }\n      ... on DuplicateOrderError { existingPaymentId }\n    }\n  }\n": typeof types.InitiatePaymentDocument,
    "\n  mutation VerifyPayment($input: VerifyPaymentInput!) {\n    verifyPayment(input: $input) {\n      ... on PaymentSuccess { payment { ...PaymentFields } }\n      ... on UserError { code message }\n      ... on ValidationError { field }\n      ... on PanNotAcceptedError { field }\n      ... on GatewayError { retryable gatewayCode }\n    }\n  }\n": typeof types.VerifyPaymentDocument,
    "\n  mutation CancelPayment($id: ID!) {\n    cancelPayment(id: $id) {\n      ... on PaymentSuccess { payment { ...PaymentFields } }\n      ... on UserError { code message }\n    }\n  }\n": typeof types.CancelPaymentDocument,
    "\n  mutation SetDefaultSavedMethod($id: ID!) {\n    setDefaultSavedMethod(id: $id) {\n      ... on SavedMethodSuccess { savedMethod { ...SavedMethodFields } }\n      ... on UserError { code message }\n    }\n  }\n": typeof types.SetDefaultSavedMethodDocument,
    "\n  mutation DeleteSavedMethod($id: ID!) {\n    deleteSavedMethod(id: $id) {\n      ... on DeleteSavedMethodSuccess { deletedId }\n      ... on UserError { code message }\n    }\n  }\n": typeof types.DeleteSavedMethodDocument,
};
const documents: Documents = {
    "\n  fragment PaymentFields on Payment {\n    id\n    orderId\n    status\n    amount { amount currency minor }\n    refundedAmount { amount currency minor }\n    gateway\n    methodType\n    gatewayOrderId\n    gatewayPaymentId\n    attemptCount\n    installments\n    errorCode\n    errorMessage\n    createdAt\n    updatedAt\n    expiresAt\n  }\n": types.PaymentFieldsFragmentDoc,
    "\n  fragment SavedMethodFields on SavedMethod {\n    id\n    gateway\n    methodType\n    last4\n    network\n    expiryMonth\n    expiryYear\n    expired\n    vpaMasked\n    label\n    isDefault\n  }\n": types.SavedMethodFieldsFragmentDoc,
    "\n  query CheckoutOptions($currency: String!, $amount: String) {\n    supportedMethods(currency: $currency, amount: $amount) { method gateway emiTenures }\n    netbankingBanks { code name }\n    wallets { code name }\n  }\n": types.CheckoutOptionsDocument,
    "\n  query SavedMethods {\n    savedMethods { ...SavedMethodFields }\n  }\n": types.SavedMethodsDocument,
    "\n  query Payment($id: ID!) {\n    payment(id: $id) { ...PaymentFields }\n  }\n": types.PaymentDocument,
    "\n  subscription PaymentStatus($id: ID!) {\n    paymentStatusChanged(paymentId: $id) { ...PaymentFields }\n  }\n": types.PaymentStatusDocument,
    "\n  mutation InitiatePayment($input: InitiatePaymentInput!) {\n    initiatePayment(input: $input) {\n      ... on InitiatePaymentSuccess {\n        payment { ...PaymentFields }\n        checkout { gateway keyId gatewayOrderId amountMinor currency approveUrl savedToken }\n      }\n      ... on UserError { code message }\n      ... on ValidationError { field }\n      ... on PanNotAcceptedError { field }\n      ... on GatewayError { retryable gatewayCode }\n      ... on RateLimitedError { retryAfterSeconds }\n      ... on DuplicateOrderError { existingPaymentId }\n    }\n  }\n": types.InitiatePaymentDocument,
    "\n  mutation VerifyPayment($input: VerifyPaymentInput!) {\n    verifyPayment(input: $input) {\n      ... on PaymentSuccess { payment { ...PaymentFields } }\n      ... on UserError { code message }\n      ... on ValidationError { field }\n      ... on PanNotAcceptedError { field }\n      ... on GatewayError { retryable gatewayCode }\n    }\n  }\n": types.VerifyPaymentDocument,
    "\n  mutation CancelPayment($id: ID!) {\n    cancelPayment(id: $id) {\n      ... on PaymentSuccess { payment { ...PaymentFields } }\n      ... on UserError { code message }\n    }\n  }\n": types.CancelPaymentDocument,
    "\n  mutation SetDefaultSavedMethod($id: ID!) {\n    setDefaultSavedMethod(id: $id) {\n      ... on SavedMethodSuccess { savedMethod { ...SavedMethodFields } }\n      ... on UserError { code message }\n    }\n  }\n": types.SetDefaultSavedMethodDocument,
    "\n  mutation DeleteSavedMethod($id: ID!) {\n    deleteSavedMethod(id: $id) {\n      ... on DeleteSavedMethodSuccess { deletedId }\n      ... on UserError { code message }\n    }\n  }\n": types.DeleteSavedMethodDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment PaymentFields on Payment {\n    id\n    orderId\n    status\n    amount { amount currency minor }\n    refundedAmount { amount currency minor }\n    gateway\n    methodType\n    gatewayOrderId\n    gatewayPaymentId\n    attemptCount\n    installments\n    errorCode\n    errorMessage\n    createdAt\n    updatedAt\n    expiresAt\n  }\n"): (typeof documents)["\n  fragment PaymentFields on Payment {\n    id\n    orderId\n    status\n    amount { amount currency minor }\n    refundedAmount { amount currency minor }\n    gateway\n    methodType\n    gatewayOrderId\n    gatewayPaymentId\n    attemptCount\n    installments\n    errorCode\n    errorMessage\n    createdAt\n    updatedAt\n    expiresAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment SavedMethodFields on SavedMethod {\n    id\n    gateway\n    methodType\n    last4\n    network\n    expiryMonth\n    expiryYear\n    expired\n    vpaMasked\n    label\n    isDefault\n  }\n"): (typeof documents)["\n  fragment SavedMethodFields on SavedMethod {\n    id\n    gateway\n    methodType\n    last4\n    network\n    expiryMonth\n    expiryYear\n    expired\n    vpaMasked\n    label\n    isDefault\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CheckoutOptions($currency: String!, $amount: String) {\n    supportedMethods(currency: $currency, amount: $amount) { method gateway emiTenures }\n    netbankingBanks { code name }\n    wallets { code name }\n  }\n"): (typeof documents)["\n  query CheckoutOptions($currency: String!, $amount: String) {\n    supportedMethods(currency: $currency, amount: $amount) { method gateway emiTenures }\n    netbankingBanks { code name }\n    wallets { code name }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SavedMethods {\n    savedMethods { ...SavedMethodFields }\n  }\n"): (typeof documents)["\n  query SavedMethods {\n    savedMethods { ...SavedMethodFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Payment($id: ID!) {\n    payment(id: $id) { ...PaymentFields }\n  }\n"): (typeof documents)["\n  query Payment($id: ID!) {\n    payment(id: $id) { ...PaymentFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription PaymentStatus($id: ID!) {\n    paymentStatusChanged(paymentId: $id) { ...PaymentFields }\n  }\n"): (typeof documents)["\n  subscription PaymentStatus($id: ID!) {\n    paymentStatusChanged(paymentId: $id) { ...PaymentFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InitiatePayment($input: InitiatePaymentInput!) {\n    initiatePayment(input: $input) {\n      ... on InitiatePaymentSuccess {\n        payment { ...PaymentFields }\n        checkout { gateway keyId gatewayOrderId amountMinor currency approveUrl savedToken }\n      }\n      ... on UserError { code message }\n      ... on ValidationError { field }\n      ... on PanNotAcceptedError { field }\n      ... on GatewayError { retryable gatewayCode }\n      ... on RateLimitedError { retryAfterSeconds }\n      ... on DuplicateOrderError { existingPaymentId }\n    }\n  }\n"): (typeof documents)["\n  mutation InitiatePayment($input: InitiatePaymentInput!) {\n    initiatePayment(input: $input) {\n      ... on InitiatePaymentSuccess {\n        payment { ...PaymentFields }\n        checkout { gateway keyId gatewayOrderId amountMinor currency approveUrl savedToken }\n      }\n      ... on UserError { code message }\n      ... on ValidationError { field }\n      ... on PanNotAcceptedError { field }\n      ... on GatewayError { retryable gatewayCode }\n      ... on RateLimitedError { retryAfterSeconds }\n      ... on DuplicateOrderError { existingPaymentId }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation VerifyPayment($input: VerifyPaymentInput!) {\n    verifyPayment(input: $input) {\n      ... on PaymentSuccess { payment { ...PaymentFields } }\n      ... on UserError { code message }\n      ... on ValidationError { field }\n      ... on PanNotAcceptedError { field }\n      ... on GatewayError { retryable gatewayCode }\n    }\n  }\n"): (typeof documents)["\n  mutation VerifyPayment($input: VerifyPaymentInput!) {\n    verifyPayment(input: $input) {\n      ... on PaymentSuccess { payment { ...PaymentFields } }\n      ... on UserError { code message }\n      ... on ValidationError { field }\n      ... on PanNotAcceptedError { field }\n      ... on GatewayError { retryable gatewayCode }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelPayment($id: ID!) {\n    cancelPayment(id: $id) {\n      ... on PaymentSuccess { payment { ...PaymentFields } }\n      ... on UserError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation CancelPayment($id: ID!) {\n    cancelPayment(id: $id) {\n      ... on PaymentSuccess { payment { ...PaymentFields } }\n      ... on UserError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetDefaultSavedMethod($id: ID!) {\n    setDefaultSavedMethod(id: $id) {\n      ... on SavedMethodSuccess { savedMethod { ...SavedMethodFields } }\n      ... on UserError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation SetDefaultSavedMethod($id: ID!) {\n    setDefaultSavedMethod(id: $id) {\n      ... on SavedMethodSuccess { savedMethod { ...SavedMethodFields } }\n      ... on UserError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteSavedMethod($id: ID!) {\n    deleteSavedMethod(id: $id) {\n      ... on DeleteSavedMethodSuccess { deletedId }\n      ... on UserError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteSavedMethod($id: ID!) {\n    deleteSavedMethod(id: $id) {\n      ... on DeleteSavedMethodSuccess { deletedId }\n      ... on UserError { code message }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;
// Every operation the package sends. Codegen types them (src/gql/) and lists them in
// persisted-documents.json; change one here, then run `npm run codegen`.
import { graphql } from "./gql/index.js";

export const PaymentFieldsFragment = graphql(`
  fragment PaymentFields on Payment {
    id
    orderId
    status
    amount { amount currency minor }
    refundedAmount { amount currency minor }
    gateway
    methodType
    gatewayOrderId
    gatewayPaymentId
    attemptCount
    installments
    errorCode
    errorMessage
    createdAt
    updatedAt
    expiresAt
  }
`);

export const SavedMethodFieldsFragment = graphql(`
  fragment SavedMethodFields on SavedMethod {
    id
    gateway
    methodType
    last4
    network
    expiryMonth
    expiryYear
    expired
    vpaMasked
    label
    isDefault
  }
`);

export const CheckoutOptionsDocument = graphql(`
  query CheckoutOptions($currency: String!, $amount: String) {
    supportedMethods(currency: $currency, amount: $amount) { method gateway emiTenures }
    netbankingBanks { code name }
    wallets { code name }
  }
`);

export const SavedMethodsDocument = graphql(`
  query SavedMethods {
    savedMethods { ...SavedMethodFields }
  }
`);

export const PaymentDocument = graphql(`
  query Payment($id: ID!) {
    payment(id: $id) { ...PaymentFields }
  }
`);

export const PaymentStatusDocument = graphql(`
  subscription PaymentStatus($id: ID!) {
    paymentStatusChanged(paymentId: $id) { ...PaymentFields }
  }
`);

export const InitiatePaymentDocument = graphql(`
  mutation InitiatePayment($input: InitiatePaymentInput!) {
    initiatePayment(input: $input) {
      ... on InitiatePaymentSuccess {
        payment { ...PaymentFields }
        checkout { gateway keyId gatewayOrderId amountMinor currency approveUrl savedToken }
      }
      ... on UserError { code message }
      ... on ValidationError { field }
      ... on PanNotAcceptedError { field }
      ... on GatewayError { retryable gatewayCode }
      ... on RateLimitedError { retryAfterSeconds }
      ... on DuplicateOrderError { existingPaymentId }
    }
  }
`);

export const VerifyPaymentDocument = graphql(`
  mutation VerifyPayment($input: VerifyPaymentInput!) {
    verifyPayment(input: $input) {
      ... on PaymentSuccess { payment { ...PaymentFields } }
      ... on UserError { code message }
      ... on ValidationError { field }
      ... on PanNotAcceptedError { field }
      ... on GatewayError { retryable gatewayCode }
    }
  }
`);

export const CancelPaymentDocument = graphql(`
  mutation CancelPayment($id: ID!) {
    cancelPayment(id: $id) {
      ... on PaymentSuccess { payment { ...PaymentFields } }
      ... on UserError { code message }
    }
  }
`);

export const SetDefaultSavedMethodDocument = graphql(`
  mutation SetDefaultSavedMethod($id: ID!) {
    setDefaultSavedMethod(id: $id) {
      ... on SavedMethodSuccess { savedMethod { ...SavedMethodFields } }
      ... on UserError { code message }
    }
  }
`);

export const DeleteSavedMethodDocument = graphql(`
  mutation DeleteSavedMethod($id: ID!) {
    deleteSavedMethod(id: $id) {
      ... on DeleteSavedMethodSuccess { deletedId }
      ... on UserError { code message }
    }
  }
`);

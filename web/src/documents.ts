// The typed documents generated from src/operations.graphql (the persisted-documents manifest
// lists the same ones, by sha256).
export {
  CancelPaymentDocument,
  CheckoutOptionsDocument,
  DeleteSavedMethodDocument,
  InitiatePaymentDocument,
  PaymentDocument,
  PaymentStatusDocument,
  SavedMethodsDocument,
  SetDefaultSavedMethodDocument,
  VerifyPaymentDocument,
} from "./gql/graphql.js";

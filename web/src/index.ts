// @paygraph/react: the public API. urql and graphql-ws are implementation details.
export { PaygraphProvider, type PaygraphProviderProps } from "./provider.js";
export type { TokenSource } from "./client.js";
export type { DocumentsMode } from "./persisted.js";
export { useCheckoutOptions, type CheckoutOptions } from "./hooks/useCheckoutOptions.js";
export { useInitiatePayment, useVerifyPayment, useCancelPayment, type InitiateResult, type PaymentResult } from "./hooks/useMutations.js";
export { useGatewayCheckout, type GatewayOutcome, type GatewayCheckoutOptions } from "./hooks/useGatewayCheckout.js";
export { usePaymentStatus, type PaymentStatusState, type StatusConnection } from "./hooks/usePaymentStatus.js";
export { useSavedMethods, type SavedMethods } from "./hooks/useSavedMethods.js";
export { CheckoutFlow, type CheckoutFlowProps } from "./components/CheckoutFlow.js";
export { PaymentMethods, type PaymentMethodsProps } from "./components/PaymentMethods.js";
export { MethodPicker, type MethodPickerProps } from "./components/MethodPicker.js";
export type { PaygraphError, PaygraphErrorKind } from "./errors.js";
export { formatMoney, minorToDecimal } from "./money.js";
export {
  METHOD_LABELS,
  FINAL_STATUSES,
  type Bank,
  type CheckoutOrder,
  type CheckoutParams,
  type InitiatedPayment,
  type InitiatePaymentInput,
  type OrderLine,
  type Payment,
  type PaymentMethodType,
  type PaymentStatus,
  type SavedMethod,
  type SupportedMethod,
  type Wallet,
} from "./types.js";

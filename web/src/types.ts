// The public data types: what the hooks and components hand to a shop's code.
import type {
  CheckoutOptionsQuery,
  InitiatePaymentInput,
  InitiatePaymentMutation,
  PaymentFieldsFragment,
  PaymentMethodType,
  PaymentStatus,
  SavedMethodFieldsFragment,
} from "./gql/graphql.js";

export type { InitiatePaymentInput, PaymentMethodType, PaymentStatus };

/** A payment as the API reports it (amounts as decimal strings plus minor units). */
export type Payment = PaymentFieldsFragment;
/** A saved gateway token: last4, network and expiry, never card data. */
export type SavedMethod = SavedMethodFieldsFragment;
/** A method the checkout can offer for the order's currency and amount. */
export type SupportedMethod = CheckoutOptionsQuery["supportedMethods"][number];
export type Bank = CheckoutOptionsQuery["netbankingBanks"][number];
export type Wallet = CheckoutOptionsQuery["wallets"][number];

type InitiateSuccess = Extract<InitiatePaymentMutation["initiatePayment"], { __typename: "InitiatePaymentSuccess" }>;
/** What the gateway's checkout needs: key, gateway order id, amount, approve URL (PayPal). */
export type CheckoutParams = InitiateSuccess["checkout"];

/** A payment with a gateway order, ready for the gateway's checkout. */
export interface InitiatedPayment {
  payment: Payment;
  checkout: CheckoutParams;
}

/** The order a CheckoutFlow pays: the amount is a decimal string in major units ("1499.00"). */
export interface CheckoutOrder {
  orderId: string;
  amount: string;
  currency: string;
  lines?: OrderLine[];
}

export interface OrderLine {
  label: string;
  quantity?: number;
  /** The line's total in major units. */
  amount: string;
}

export const METHOD_LABELS: Record<PaymentMethodType, string> = {
  CARD: "Card",
  UPI: "UPI",
  NETBANKING: "Net banking",
  WALLET: "Wallet",
  EMI: "EMI",
  PAYPAL: "PayPal",
};

/** The charge is settled (refunds may still follow a completed payment). */
export const FINAL_STATUSES: ReadonlySet<PaymentStatus> = new Set<PaymentStatus>([
  "COMPLETED",
  "PARTIALLY_REFUNDED",
  "REFUNDED",
  "CANCELLED",
  "EXPIRED",
]);

export const PAID_STATUSES: ReadonlySet<PaymentStatus> = new Set<PaymentStatus>(["COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"]);

import { formatMoney } from "../money.js";
import type { PaymentMethodType, SavedMethod } from "../types.js";

export const METHOD_HINTS: Record<PaymentMethodType, string> = {
  CARD: "Credit or debit card, RuPay included",
  UPI: "Pay from any UPI app",
  NETBANKING: "Pay from your bank account",
  WALLET: "Paytm, PhonePe, Amazon Pay and more",
  EMI: "Monthly instalments on a credit card",
  PAYPAL: "Pay with your PayPal account",
};

/** "Visa •••• 1007", or the UPI ID / label for other saved methods. */
export function savedMethodName(method: SavedMethod): string {
  if (method.last4) return `${method.network ?? "Card"} •••• ${method.last4}`;
  return method.vpaMasked ?? method.label;
}

/** "12/31", or null when the method has no expiry. */
export function expiryOf(method: SavedMethod): string | null {
  if (!method.expiryMonth || !method.expiryYear) return null;
  return `${String(method.expiryMonth).padStart(2, "0")}/${String(method.expiryYear).slice(-2)}`;
}

/** "Default · Expires 12/31", "Expired 01/20": the hint under a saved method's name. */
export function savedMethodDetail(method: SavedMethod): string {
  const expiry = expiryOf(method);
  const parts: string[] = [];
  if (method.isDefault) parts.push("Default");
  if (method.expired) parts.push(expiry ? `Expired ${expiry}` : "Expired");
  else if (expiry) parts.push(`Expires ${expiry}`);
  return parts.join(" · ");
}

export const money = (amount: { amount: string; currency: string }, locale?: string) =>
  formatMoney(amount.amount, amount.currency, locale);

import { useCallback, useEffect, useRef, useState } from "react";
import { fromGatewayFailure, paygraphError, type PaygraphError } from "../errors.js";
import { approveInPopup, rememberApproval } from "../gateways/paypal.js";
import { loadRazorpay, type RazorpayInstance } from "../gateways/razorpay.js";
import { usePaygraph } from "../provider.js";
import type { InitiatedPayment, InitiatePaymentInput } from "../types.js";

/** authorized: the gateway took the payment (confirm it with verifyPayment); failed: the attempt
 * was declined; dismissed: the customer closed the checkout; redirected: the tab is leaving for
 * PayPal and comes back to the return URL. */
export type GatewayOutcome =
  | { status: "authorized"; gatewayPaymentId?: string; signature?: string }
  | { status: "failed"; error: PaygraphError; gatewayPaymentId?: string }
  | { status: "dismissed" }
  | { status: "redirected" };

export interface GatewayCheckoutOptions {
  /** Razorpay Checkout offers "Save this card" (its own consent, RBI tokenisation). */
  saveMethod?: boolean;
  /** Razorpay's prefill: name, email, contact (and sandbox labels such as card_last4). */
  prefill?: Record<string, string>;
  description?: string;
  /** Razorpay's theme colour; default: the page's --paygraph-accent. */
  themeColor?: string;
  /** PayPal: leave the page (default) or approve in a popup. */
  paypalMode?: "redirect" | "popup";
  /** The initiatePayment input, kept for a retry after PayPal's redirect brings the tab back. */
  input?: InitiatePaymentInput;
}

function accentColor(): string | undefined {
  if (typeof document === "undefined") return undefined;
  const value = getComputedStyle(document.documentElement).getPropertyValue("--paygraph-accent").trim();
  return value || undefined;
}

/** Opens the gateway's checkout for an initiated payment: Razorpay Checkout (loaded once per page
 * from `checkout.scriptUrl`, which the API sends) or PayPal's approval. The promise settles with
 * what happened. */
export function useGatewayCheckout() {
  const { merchantName } = usePaygraph();
  const open = useRef<RazorpayInstance | null>(null);
  const [opening, setOpening] = useState(false);

  const close = useCallback(() => {
    const instance = open.current;
    open.current = null;
    instance?.close();
  }, []);
  useEffect(() => close, [close]);

  const openCheckout = useCallback(
    async ({ payment, checkout }: InitiatedPayment, options: GatewayCheckoutOptions = {}): Promise<GatewayOutcome> => {
      if (checkout.gateway === "PAYPAL") {
        if (!checkout.approveUrl) {
          return { status: "failed", error: paygraphError("gateway", "NO_APPROVE_URL", "PayPal did not return an approval page.", { retryable: true }) };
        }
        rememberApproval({
          paymentId: payment.id,
          gatewayOrderId: checkout.gatewayOrderId,
          orderId: payment.orderId,
          amount: payment.amount.amount,
          currency: payment.amount.currency,
          input: { ...(options.input ?? {}) },
          saveMethod: options.saveMethod ?? false,
        });
        if (options.paypalMode === "popup") {
          const result = await approveInPopup(checkout.approveUrl);
          if (result === "approved") return { status: "authorized" };
          if (result !== "blocked") return { status: "dismissed" };
        }
        window.location.assign(checkout.approveUrl);
        return { status: "redirected" };
      }

      if (!checkout.scriptUrl) {
        return { status: "failed", error: paygraphError("gateway", "NO_CHECKOUT_SCRIPT", "The payment service named no checkout script.", { retryable: false }) };
      }
      setOpening(true);
      let Razorpay;
      try {
        Razorpay = await loadRazorpay(checkout.scriptUrl);
      } catch (cause) {
        return {
          status: "failed",
          error: paygraphError("network", "SCRIPT_LOAD_FAILED", `Razorpay Checkout could not be loaded (${(cause as Error).message}).`, { retryable: true }),
        };
      } finally {
        setOpening(false);
      }
      close();
      return new Promise<GatewayOutcome>((resolve) => {
        let settled = false;
        const settle = (outcome: GatewayOutcome) => {
          if (settled) return;
          settled = true;
          if (open.current === instance) open.current = null;
          resolve(outcome);
        };
        const prefill: Record<string, string> = { ...options.prefill, method: payment.methodType.toLowerCase() };
        // Razorpay's script ignores emi_duration; its sandbox stand-in preselects the tenure.
        if (payment.methodType === "EMI" && payment.installments > 1) prefill.emi_duration = String(payment.installments);
        const instance = new Razorpay({
          key: checkout.keyId,
          amount: checkout.amountMinor,
          currency: checkout.currency,
          order_id: checkout.gatewayOrderId,
          name: merchantName,
          description: options.description ?? `Order ${payment.orderId}`,
          prefill,
          notes: { paygraph_payment_id: payment.id, order_id: payment.orderId },
          theme: { color: options.themeColor ?? accentColor() },
          // Razorpay issues and honours card tokens only for a Razorpay customer.
          ...(checkout.customerId ? { customer_id: checkout.customerId } : {}),
          ...(checkout.savedToken ? { token: checkout.savedToken } : {}),
          ...(options.saveMethod ? { save: 1 } : {}),
          // One attempt per open: a failure comes back to the page, whose retry keeps the order.
          retry: { enabled: false },
          handler: (response) =>
            settle({ status: "authorized", gatewayPaymentId: response.razorpay_payment_id, signature: response.razorpay_signature }),
          modal: { ondismiss: () => settle({ status: "dismissed" }) },
        });
        instance.on("payment.failed", (response) => {
          const error = response.error ?? {};
          settle({
            status: "failed",
            error: fromGatewayFailure(error.reason ?? error.code, error.description),
            gatewayPaymentId: error.metadata?.payment_id,
          });
          instance.close();
        });
        open.current = instance;
        instance.open();
      });
    },
    [close, merchantName],
  );

  return { open: openCheckout, close, opening };
}

import { useCallback, useEffect, useRef, useState } from "react";
import { paygraphError, type PaygraphError } from "../errors.js";
import { clearPayPalParams, currentPage, forgetApproval, readPayPalReturn, type PayPalReturn } from "../gateways/paypal.js";
import { useCheckoutOptions } from "../hooks/useCheckoutOptions.js";
import { useGatewayCheckout, type GatewayOutcome } from "../hooks/useGatewayCheckout.js";
import { useCancelPayment, useInitiatePayment, useVerifyPayment } from "../hooks/useMutations.js";
import { usePaymentStatus } from "../hooks/usePaymentStatus.js";
import { formatMoney } from "../money.js";
import type { CheckoutOrder, InitiatedPayment, InitiatePaymentInput, Payment, PaymentMethodType } from "../types.js";
import { PAID_STATUSES } from "../types.js";
import { money } from "./labels.js";
import type { MethodChoice } from "./MethodPicker.js";
import { ErrorNote, MethodStep, Notice, OrderSummary, Receipt, StepHeading } from "./steps.js";

export interface CheckoutFlowProps {
  order: CheckoutOrder;
  /** Called once, when the payment is completed. */
  onSuccess: (payment: Payment) => void;
  /** Called on each failed attempt (the flow offers a retry on the same order). */
  onFailure?: (error: PaygraphError) => void;
  /** Shows a "Cancel" action; called after the customer cancels (any open payment is cancelled). */
  onCancel?: () => void;
  /** Offer saving the card: Razorpay Checkout then shows "Save this card" (the customer's
   * consent is given there) and a ticked card is kept as a saved method. Default: false. */
  saveMethod?: boolean;
  /** PayPal approval by leaving the page (default) or in a popup. */
  paypalMode?: "redirect" | "popup";
  /** Where PayPal brings the buyer back, approved or cancelled: an absolute URL on an origin the
   * API allows (CORS_ALLOW_ORIGINS). Default: this page; null: the API's PAYPAL_RETURN_URL. */
  paypalReturnUrl?: string | null;
  /** Razorpay prefill (name, email, contact). */
  prefill?: Record<string, string>;
  locale?: string;
}

type Step = "review" | "method" | "gateway" | "confirming" | "success" | "failure" | "ended";

interface FlowState {
  step: Step;
  /** The order as the customer confirmed it: what initiatePayment was (or will be) sent. */
  snapshot: CheckoutOrder | null;
  input: InitiatePaymentInput | null;
  paymentId: string | null;
  initiated: InitiatedPayment | null;
  error: PaygraphError | null;
  notice: string | null;
  busy: boolean;
  /** Set after the first step change, so focus moves only when the customer acts. */
  moved: boolean;
}

const STEPS: { key: Step[]; label: string }[] = [
  { key: ["review"], label: "Review" },
  { key: ["method"], label: "Method" },
  { key: ["gateway", "confirming"], label: "Pay" },
  { key: ["success", "failure", "ended"], label: "Done" },
];

const START: FlowState = { step: "review", snapshot: null, input: null, paymentId: null, initiated: null, error: null, notice: null, busy: false, moved: false };

const sameOrder = (a: CheckoutOrder, b: CheckoutOrder) => a.orderId === b.orderId && a.amount === b.amount && a.currency === b.currency;

function choiceOf(input: InitiatePaymentInput | null): MethodChoice | null {
  if (!input) return null;
  return input.savedMethodId ? `saved:${input.savedMethodId}` : (input.paymentMethod ?? "CARD");
}

function resumed(ret: PayPalReturn | null, order: CheckoutOrder): FlowState {
  if (!ret) return START;
  const { pending } = ret;
  if (!sameOrder(pending, order)) return { ...START, notice: "Your order changed while you were at PayPal. Review it before paying." };
  const base = { ...START, snapshot: { ...order }, input: pending.input as unknown as InitiatePaymentInput, paymentId: pending.paymentId, moved: true };
  return ret.approved ? { ...base, step: "confirming" } : { ...base, step: "gateway", notice: "You cancelled at PayPal; you have not been charged." };
}

/** The whole checkout for one order: review -> method -> the gateway's checkout -> confirming ->
 * success, or failure with a retry that keeps the same order. The amount, currency and orderId
 * sent are the `order` props at the moment the customer confirms; if they change after a payment
 * was started, the flow goes back to review instead of paying a stale amount. */
export function CheckoutFlow(props: CheckoutFlowProps) {
  const { order, onSuccess, onFailure, onCancel, saveMethod = false, paypalMode = "redirect", paypalReturnUrl, prefill, locale } = props;
  const [paypalReturn] = useState(() => readPayPalReturn());
  const [state, setState] = useState<FlowState>(() => resumed(paypalReturn, order));
  const update = useCallback((patch: Partial<FlowState>) => setState((s) => ({ ...s, ...patch, moved: s.moved || patch.step !== undefined })), []);
  const orderRef = useRef(order);
  orderRef.current = order;
  const stateRef = useRef(state);
  stateRef.current = state;
  const callbacks = useRef({ onSuccess, onFailure, onCancel });
  callbacks.current = { onSuccess, onFailure, onCancel };

  const active = state.snapshot ?? order;
  const options = useCheckoutOptions(active.currency, active.amount);
  const { initiate } = useInitiatePayment();
  const { verify } = useVerifyPayment();
  const { cancel } = useCancelPayment();
  const gateway = useGatewayCheckout();
  const { open: openCheckout, close: closeGateway } = gateway;
  const live = usePaymentStatus(state.paymentId);
  const [announcement, setAnnouncement] = useState("");

  const isStale = () => {
    const snapshot = stateRef.current.snapshot;
    return snapshot !== null && !sameOrder(snapshot, orderRef.current);
  };

  const restartStale = useCallback(() => {
    closeGateway();
    forgetApproval();
    setState({ ...START, moved: true, notice: "Your order changed. Review it before paying." });
  }, [closeGateway]);

  // Stale configuration: new order props after a payment was started restart the flow.
  const { orderId, amount, currency } = order;
  useEffect(() => {
    const { snapshot, step } = stateRef.current;
    if (snapshot && step !== "success" && !sameOrder(snapshot, { orderId, amount, currency })) restartStale();
  }, [orderId, amount, currency, restartStale]);

  const fail = useCallback(
    (error: PaygraphError) => {
      update({ step: "failure", error, busy: false });
      callbacks.current.onFailure?.(error);
    },
    [update],
  );

  // verifyPayment and the live status may both report the success, in the same tick.
  const succeeded = useRef<string | null>(null);
  const succeed = useCallback(
    (payment: Payment) => {
      if (succeeded.current === payment.id) return;
      succeeded.current = payment.id;
      forgetApproval();
      update({ step: "success", error: null, busy: false, notice: null });
      callbacks.current.onSuccess(payment);
    },
    [update],
  );

  const confirm = useCallback(
    async (paymentId: string, outcome: Extract<GatewayOutcome, { status: "authorized" }>, save: boolean) => {
      if (succeeded.current === paymentId) return;
      update({ step: "confirming", busy: true, error: null, notice: null });
      const result = await verify({ paymentId, gatewayPaymentId: outcome.gatewayPaymentId ?? null, signature: outcome.signature ?? null, saveMethod: save });
      if (stateRef.current.paymentId !== paymentId || stateRef.current.step !== "confirming") return;
      if (!result.ok) return fail(result.error);
      const { payment } = result;
      if (PAID_STATUSES.has(payment.status)) return succeed(payment);
      if (payment.status === "FAILED") return fail(paygraphError("gateway", payment.errorCode ?? "PAYMENT_FAILED", payment.errorMessage ?? "The payment did not go through.", { retryable: true }));
      // Still AUTHORIZED or INITIATED: the live status settles it.
    },
    [fail, succeed, update, verify],
  );

  const openGateway = useCallback(
    async (initiated: InitiatedPayment, input: InitiatePaymentInput, save: boolean) => {
      update({ step: "gateway", initiated, paymentId: initiated.payment.id, busy: false, error: null, notice: null });
      const saved = options.savedMethods.find((m) => m.id === input.savedMethodId);
      // The real script ignores these; the sandbox's stand-in labels the saved card with them.
      const cardLabel: Record<string, string> = saved?.last4 ? { card_last4: saved.last4, card_network: saved.network ?? "" } : {};
      const outcome = await openCheckout(initiated, { saveMethod: save, prefill: { ...cardLabel, ...prefill }, paypalMode, input });
      // The live status may have settled it meanwhile (a PayPal webhook captured first), or
      // the order changed: the gateway's report then changes nothing.
      if (stateRef.current.paymentId !== initiated.payment.id || stateRef.current.step !== "gateway" || isStale()) return;
      switch (outcome.status) {
        case "authorized":
          return confirm(initiated.payment.id, outcome, save);
        case "failed":
          if (outcome.gatewayPaymentId) {
            // Record the declined attempt; the payment's reason comes back with it.
            await verify({ paymentId: initiated.payment.id, gatewayPaymentId: outcome.gatewayPaymentId });
          }
          return fail(outcome.error);
        case "dismissed":
          return update({ step: "gateway", notice: "The checkout was closed before paying; you have not been charged." });
        case "redirected":
          return undefined;
      }
    },
    [confirm, fail, openCheckout, options.savedMethods, paypalMode, prefill, update, verify],
  );

  const start = useCallback(
    async (input: InitiatePaymentInput, save: boolean) => {
      update({ busy: true, error: null, notice: null });
      const result = await initiate(input);
      if (isStale()) return restartStale();
      if (!result.ok) {
        if (result.error.code === "MAX_ATTEMPTS_EXCEEDED") return update({ step: "ended", busy: false, error: result.error });
        return update({ busy: false, error: result.error });
      }
      update({ input, busy: false });
      if (PAID_STATUSES.has(result.payment.status)) {
        update({ paymentId: result.payment.id, initiated: result });
        return succeed(result.payment);
      }
      return openGateway(result, input, save);
    },
    [initiate, openGateway, restartStale, succeed, update],
  );

  const pay = (choice: MethodChoice, extras: { installments: number }) => {
    const snapshot = { ...orderRef.current };
    const input: InitiatePaymentInput = state.input ?? { orderId: snapshot.orderId, amount: snapshot.amount, currency: snapshot.currency };
    if (!state.input) {
      if (choice.startsWith("saved:")) {
        const saved = options.savedMethods.find((m) => `saved:${m.id}` === choice);
        input.paymentMethod = (saved?.methodType ?? "CARD") as PaymentMethodType;
        input.savedMethodId = choice.slice("saved:".length);
      } else {
        input.paymentMethod = choice as PaymentMethodType;
        if (extras.installments > 1) input.installments = extras.installments;
      }
      if (input.paymentMethod === "PAYPAL" && paypalReturnUrl !== null) {
        // Back to this page (or the one named): the flow finds ?token= and captures.
        input.returnUrl = input.cancelUrl = paypalReturnUrl ?? currentPage();
      }
    }
    setState((s) => ({ ...s, snapshot }));
    // isStale() reads the ref before React re-renders: it must see this snapshot already.
    stateRef.current = { ...stateRef.current, snapshot };
    void start(input, saveMethod);
  };

  const retry = () => {
    if (!state.input) return update({ step: "method", error: null });
    if (isStale()) return restartStale();
    void start(state.input, saveMethod);
  };

  const cancelFlow = async () => {
    closeGateway();
    forgetApproval();
    if (state.paymentId && !PAID_STATUSES.has(live.status ?? "PENDING")) {
      const result = await cancel(state.paymentId);
      if (!result.ok && result.error.code !== "INVALID_STATE") return update({ error: result.error });
    }
    setState({ ...START, moved: true, step: "ended", notice: "Payment cancelled. You have not been charged." });
    callbacks.current.onCancel?.();
  };

  // Back from PayPal: capture what the buyer approved (once, StrictMode's second effect included).
  const pendingReturn = useRef(paypalReturn);
  useEffect(() => {
    const ret = pendingReturn.current;
    if (!ret) return;
    pendingReturn.current = null;
    clearPayPalParams();
    const { paymentId, step } = stateRef.current;
    if (paymentId && ret.approved && step === "confirming") void confirm(paymentId, { status: "authorized" }, ret.pending.saveMethod);
  }, [confirm]);

  // The live status settles whatever the gateway's callbacks and verifyPayment left open.
  useEffect(() => {
    const payment = live.payment;
    if (!payment || payment.id !== state.paymentId) return;
    // Status follows money: a paid payment is a success whatever the page concluded before
    // (a verifyPayment that timed out, a checkout callback that never came).
    if (PAID_STATUSES.has(payment.status) && state.step !== "success" && state.step !== "ended") succeed(payment);
    else if (payment.status === "FAILED" && state.step === "confirming") {
      fail(paygraphError("gateway", payment.errorCode ?? "PAYMENT_FAILED", payment.errorMessage ?? "The payment did not go through.", { retryable: true }));
    } else if ((payment.status === "CANCELLED" || payment.status === "EXPIRED") && state.step !== "ended") {
      closeGateway();
      update({ step: "ended", notice: `This payment ${payment.status === "EXPIRED" ? "expired" : "was cancelled"}; you have not been charged.` });
    }
  }, [live.payment, state.paymentId, state.step, succeed, fail, update, closeGateway]);

  useEffect(() => {
    const text: Record<Step, string> = {
      review: "Review your order",
      method: "Choose how to pay",
      gateway: "Complete the payment in the payment window",
      confirming: "Confirming your payment",
      success: "Payment successful",
      failure: `Payment failed: ${state.error?.message ?? ""}`,
      ended: "Checkout ended",
    };
    if (state.moved) setAnnouncement(text[state.step]);
  }, [state.step, state.moved, state.error]);

  const payment = live.payment ?? state.initiated?.payment ?? null;
  const total = formatMoney(active.amount, active.currency, locale);
  const payLabel = (choice: MethodChoice | null) => (choice === "PAYPAL" ? `Continue to PayPal` : `Pay ${total}`);
  const cancelButton = onCancel ? (
    <button type="button" className="pg-button pg-button--quiet" onClick={() => void cancelFlow()}>
      Cancel
    </button>
  ) : null;
  const focus = state.moved;

  return (
    <section className="pg-root pg-flow" aria-label="Checkout" data-step={state.step}>
      <ol className="pg-steps">
        {STEPS.map((s) => (
          <li key={s.label} aria-current={s.key.includes(state.step) ? "step" : undefined}>
            {s.label}
          </li>
        ))}
      </ol>
      <div className="pg-visually-hidden" role="status" aria-live="polite">
        {announcement}
      </div>
      {state.step === "review" ? (
        <>
          <StepHeading focus={focus}>Review your order</StepHeading>
          <Notice text={state.notice} />
          <OrderSummary order={order} locale={locale} />
          <div className="pg-actions">
            {cancelButton}
            <button type="button" className="pg-button pg-button--primary" onClick={() => update({ step: "method", notice: null })}>
              Continue to payment
            </button>
          </div>
        </>
      ) : null}
      {state.step === "method" ? (
        <>
          <StepHeading focus={focus}>Choose how to pay {total}</StepHeading>
          <Notice text={state.notice} />
          <ErrorNote error={state.error} />
          <MethodStep
            order={active}
            methods={options.methods}
            savedMethods={options.savedMethods}
            loading={options.loading}
            loadError={options.error}
            lockedTo={choiceOf(state.input)}
            initial={{ choice: choiceOf(state.input), installments: state.input?.installments ?? 3 }}
            busy={state.busy}
            payLabel={payLabel}
            onPay={pay}
            onBack={() => update({ step: "review", error: null })}
            onReload={options.refetch}
          />
        </>
      ) : null}
      {state.step === "gateway" ? (
        <>
          <StepHeading focus={focus}>{state.initiated?.checkout.gateway === "PAYPAL" || state.input?.paymentMethod === "PAYPAL" ? "Approve with PayPal" : "Pay in Razorpay Checkout"}</StepHeading>
          <Notice text={state.notice ?? (gateway.opening ? "Opening the payment window…" : "Complete the payment in the payment window.")} />
          <ErrorNote error={state.error} />
          <div className="pg-actions">
            {cancelButton}
            <button type="button" className="pg-button" onClick={() => update({ step: "method", notice: null })}>
              Back
            </button>
            <button type="button" className="pg-button pg-button--primary" disabled={state.busy} onClick={retry}>
              {state.input?.paymentMethod === "PAYPAL" ? "Continue to PayPal" : `Pay ${total}`}
            </button>
          </div>
        </>
      ) : null}
      {state.step === "confirming" ? (
        <>
          <StepHeading focus={focus}>Confirming your payment</StepHeading>
          <p aria-busy="true">Checking with the gateway… {live.connection === "polling" ? "(live updates are down; checking every few seconds)" : ""}</p>
        </>
      ) : null}
      {state.step === "success" && payment ? (
        <>
          <StepHeading focus={focus}>Payment successful</StepHeading>
          <p className="pg-success">Thank you! {money(payment.amount, locale)} paid for order {payment.orderId}.</p>
          <Receipt payment={payment} locale={locale} />
        </>
      ) : null}
      {state.step === "failure" ? (
        <>
          <StepHeading focus={focus}>Payment failed</StepHeading>
          <ErrorNote error={state.error} />
          <p className="pg-muted">
            {payment ? `Attempt ${payment.attemptCount} for order ${payment.orderId}. ` : ""}Trying again keeps the same order; you will not be charged twice.
          </p>
          <div className="pg-actions">
            {cancelButton}
            <button type="button" className="pg-button pg-button--primary" disabled={state.busy} onClick={retry}>
              {state.busy ? "Starting payment…" : "Try again"}
            </button>
          </div>
        </>
      ) : null}
      {state.step === "ended" ? (
        <>
          <StepHeading focus={focus}>{state.error ? "No attempts left" : "Checkout ended"}</StepHeading>
          <Notice text={state.notice} />
          <ErrorNote error={state.error} />
        </>
      ) : null}
    </section>
  );
}

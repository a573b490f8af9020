// The views of CheckoutFlow's steps. They hold no payment state: CheckoutFlow decides.
import { useEffect, useRef, useState, type ReactNode } from "react";
import type { PaygraphError } from "../errors.js";
import { formatMoney } from "../money.js";
import type { CheckoutOrder, Payment, SavedMethod, SupportedMethod } from "../types.js";
import { METHOD_LABELS } from "../types.js";
import { money } from "./labels.js";
import { MethodPicker, type MethodChoice } from "./MethodPicker.js";

export function StepHeading({ children, focus }: { children: ReactNode; focus: boolean }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focus) ref.current?.focus();
  }, [focus]);
  return (
    <h2 className="pg-heading" tabIndex={-1} ref={ref}>
      {children}
    </h2>
  );
}

export function ErrorNote({ error }: { error: PaygraphError | null }) {
  if (!error) return null;
  return (
    <p className="pg-error" role="alert">
      {error.message}
      {error.field ? ` (${error.field})` : ""}
    </p>
  );
}

export function Notice({ text }: { text: string | null }) {
  return text ? <p className="pg-notice">{text}</p> : null;
}

export function OrderSummary({ order, locale }: { order: CheckoutOrder; locale?: string }) {
  return (
    <table className="pg-order">
      <caption className="pg-visually-hidden">Order {order.orderId}</caption>
      {order.lines?.length ? (
        <tbody>
          {order.lines.map((line, index) => (
            <tr key={`${line.label}-${index}`}>
              <th scope="row">
                {line.label}
                {line.quantity && line.quantity > 1 ? <span className="pg-muted"> × {line.quantity}</span> : null}
              </th>
              <td>{formatMoney(line.amount, order.currency, locale)}</td>
            </tr>
          ))}
        </tbody>
      ) : null}
      <tfoot>
        <tr>
          <th scope="row">Total</th>
          <td className="pg-total">{formatMoney(order.amount, order.currency, locale)}</td>
        </tr>
      </tfoot>
    </table>
  );
}

export interface MethodStepProps {
  order: CheckoutOrder;
  methods: SupportedMethod[];
  savedMethods: SavedMethod[];
  loading: boolean;
  loadError: PaygraphError | null;
  lockedTo: MethodChoice | null;
  initial: { choice: MethodChoice | null; installments: number };
  busy: boolean;
  payLabel: (choice: MethodChoice | null) => string;
  onPay: (choice: MethodChoice, extras: { installments: number }) => void;
  onBack: () => void;
  onReload: () => void;
}

export function MethodStep(props: MethodStepProps) {
  const { methods, savedMethods, lockedTo, initial } = props;
  const defaultSaved = savedMethods.find((m) => m.isDefault);
  const fallback = lockedTo ?? initial.choice ?? (defaultSaved ? `saved:${defaultSaved.id}` : (methods[0]?.method ?? null));
  const [picked, setPicked] = useState<MethodChoice | null>(null);
  const choice = picked ?? fallback;
  const [installments, setInstallments] = useState(initial.installments);
  const emi = methods.find((m) => m.method === "EMI");
  if (props.loading && methods.length === 0) return <p className="pg-muted" aria-busy="true">Loading payment methods…</p>;
  if (props.loadError && methods.length === 0) {
    return (
      <>
        <ErrorNote error={props.loadError} />
        <div className="pg-actions">
          <button type="button" className="pg-button pg-button--primary" onClick={props.onReload}>
            Try loading again
          </button>
        </div>
      </>
    );
  }
  if (methods.length === 0) return <p>No payment method can take {formatMoney(props.order.amount, props.order.currency)} in {props.order.currency}.</p>;
  return (
    <form
      className="pg-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (choice) props.onPay(choice, { installments: choice === "EMI" ? installments : 1 });
      }}
    >
      <MethodPicker methods={methods} savedMethods={savedMethods} value={choice} onChange={setPicked} lockedTo={lockedTo} />
      {lockedTo ? (
        <p className="pg-muted">This order's payment was started with {describeChoice(lockedTo, savedMethods)}; a new order can use another method.</p>
      ) : null}
      {choice === "EMI" && emi ? (
        <div className="pg-field">
          <label htmlFor="pg-emi-tenure">EMI tenure</label>
          <select id="pg-emi-tenure" value={installments} disabled={Boolean(lockedTo)} onChange={(e) => setInstallments(Number(e.target.value))}>
            {emi.emiTenures.map((n) => (
              <option key={n} value={n}>
                {n} months
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <p className="pg-muted pg-small">Card details are entered in the payment gateway's own window, never on this page.</p>
      <div className="pg-actions">
        <button type="button" className="pg-button" onClick={props.onBack}>
          Back to order
        </button>
        <button type="submit" className="pg-button pg-button--primary" disabled={!choice || props.busy} aria-busy={props.busy}>
          {props.busy ? "Starting payment…" : props.payLabel(choice)}
        </button>
      </div>
    </form>
  );
}

function describeChoice(choice: MethodChoice, saved: SavedMethod[]): string {
  if (choice.startsWith("saved:")) {
    const method = saved.find((m) => `saved:${m.id}` === choice);
    return method?.last4 ? `the card ending ${method.last4}` : "a saved method";
  }
  return METHOD_LABELS[choice as keyof typeof METHOD_LABELS] ?? choice;
}

export function Receipt({ payment, locale }: { payment: Payment; locale?: string }) {
  const rows: [string, string][] = [
    ["Order", payment.orderId],
    ["Amount", money(payment.amount, locale)],
    ["Method", `${METHOD_LABELS[payment.methodType]}${payment.installments > 1 ? ` · ${payment.installments} months` : ""}`],
    ["Payment ID", payment.id],
    ["Status", payment.status.toLowerCase().replace(/_/g, " ")],
  ];
  return (
    <dl className="pg-receipt" aria-label="Receipt">
      {rows.map(([term, detail]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{detail}</dd>
        </div>
      ))}
    </dl>
  );
}

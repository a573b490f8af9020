import { useState } from "react";
import type { PaygraphError } from "../errors.js";
import { useSavedMethods } from "../hooks/useSavedMethods.js";
import type { SavedMethod } from "../types.js";
import { expiryOf, savedMethodName } from "./labels.js";
import { ErrorNote } from "./steps.js";

export interface PaymentMethodsProps {
  /** Makes each usable method selectable (a radio); called with the chosen one. */
  onSelect?: (method: SavedMethod) => void;
  /** Shows an "Add a payment method" button (a card is saved by paying with it). */
  onAddNew?: () => void;
  heading?: string;
}

/** The customer's saved methods: the default marked, expired ones shown as such, each one
 * deletable and any usable one can become the default. */
export function PaymentMethods({ onSelect, onAddNew, heading = "Saved payment methods" }: PaymentMethodsProps) {
  const { methods, loading, error, setDefault, remove } = useSavedMethods();
  const [selected, setSelected] = useState<string | null>(null);
  const [pending, setPending] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const [actionError, setActionError] = useState<PaygraphError | null>(null);

  const act = async (id: string, run: () => Promise<PaygraphError | null>, done: string) => {
    setPending(id);
    const failed = await run();
    setPending(null);
    setActionError(failed);
    setStatus(failed ? "" : done);
  };

  return (
    <section className="pg-root pg-saved" aria-label={heading}>
      <h2 className="pg-heading">{heading}</h2>
      <div className="pg-visually-hidden" role="status" aria-live="polite">
        {status}
      </div>
      <ErrorNote error={actionError ?? error} />
      {loading && methods.length === 0 ? <p className="pg-muted">Loading saved methods…</p> : null}
      {!loading && methods.length === 0 && !error ? <p className="pg-muted">No saved payment methods yet.</p> : null}
      <ul className="pg-saved__list">
        {methods.map((method) => {
          const name = savedMethodName(method);
          const expiry = expiryOf(method);
          const inputId = `pg-saved-${method.id}`;
          return (
            <li key={method.id} className={`pg-saved__item${method.expired ? " pg-saved__item--expired" : ""}`} aria-busy={pending === method.id}>
              {onSelect ? (
                <input
                  type="radio"
                  id={inputId}
                  name="pg-saved-method"
                  checked={selected === method.id}
                  disabled={method.expired}
                  aria-describedby={`${inputId}-detail`}
                  onChange={() => {
                    setSelected(method.id);
                    onSelect(method);
                  }}
                />
              ) : null}
              <div className="pg-saved__text">
                {onSelect ? <label htmlFor={inputId} className="pg-choice__name">{name}</label> : <span className="pg-choice__name">{name}</span>}
                <span id={`${inputId}-detail`} className="pg-choice__hint">
                  {method.isDefault ? <span className="pg-badge">Default</span> : null}
                  {method.expired ? <span className="pg-badge pg-badge--danger">Expired</span> : null}
                  {expiry ? (method.expired ? expiry : `Expires ${expiry}`) : null}
                </span>
              </div>
              <div className="pg-saved__actions">
                {!method.isDefault && !method.expired ? (
                  <button type="button" className="pg-button pg-button--small" disabled={pending !== null} aria-label={`Make ${name} the default`}
                    onClick={() => void act(method.id, () => setDefault(method.id), `${name} is now your default method.`)}>
                    Make default
                  </button>
                ) : null}
                <button type="button" className="pg-button pg-button--small pg-button--danger" disabled={pending !== null} aria-label={`Delete ${name}`}
                  onClick={() => void act(method.id, () => remove(method.id), `${name} was deleted.`)}>
                  Delete
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      {onAddNew ? (
        <div className="pg-actions">
          <button type="button" className="pg-button" onClick={onAddNew}>
            Add a payment method
          </button>
        </div>
      ) : null}
    </section>
  );
}

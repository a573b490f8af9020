import { useId } from "react";
import type { PaymentMethodType, SavedMethod, SupportedMethod } from "../types.js";
import { METHOD_LABELS } from "../types.js";
import { METHOD_HINTS, savedMethodDetail, savedMethodName } from "./labels.js";

/** "saved:<id>" for a saved method, else the method type. */
export type MethodChoice = string;

export interface MethodPickerProps {
  methods: SupportedMethod[];
  savedMethods: SavedMethod[];
  value: MethodChoice | null;
  onChange: (choice: MethodChoice) => void;
  /** Only this choice may be taken (a payment for this order already uses it). */
  lockedTo?: MethodChoice | null;
  legend?: string;
}

/** The radios of a checkout: saved methods first, then every supported method. Each radio's
 * accessible name is the method's name alone; its hint is the description. */
export function MethodPicker({ methods, savedMethods, value, onChange, lockedTo, legend = "Payment method" }: MethodPickerProps) {
  const base = useId();
  const option = (choice: MethodChoice, name: string, hint: string, extraClass = "") => {
    const id = `${base}-${choice.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const disabled = Boolean(lockedTo && lockedTo !== choice);
    return (
      <li key={choice} className={`pg-choice${extraClass}${disabled ? " pg-choice--disabled" : ""}`}>
        <input
          type="radio"
          id={id}
          name={`${base}-method`}
          value={choice}
          checked={value === choice}
          disabled={disabled}
          onChange={() => onChange(choice)}
          aria-describedby={hint ? `${id}-hint` : undefined}
        />
        {/* The hint sits outside the label: the radio's accessible name is the method's name. */}
        <span className="pg-choice__text">
          <label htmlFor={id} className="pg-choice__name">
            {name}
          </label>
          {hint ? (
            <span className="pg-choice__hint" id={`${id}-hint`}>
              {hint}
            </span>
          ) : null}
        </span>
      </li>
    );
  };
  return (
    <fieldset className="pg-methods">
      <legend>{legend}</legend>
      {savedMethods.length > 0 ? (
        <ul className="pg-choices pg-choices--saved" aria-label="Saved methods">
          {savedMethods.map((m) => option(`saved:${m.id}`, savedMethodName(m), savedMethodDetail(m), " pg-choice--saved"))}
        </ul>
      ) : null}
      <ul className="pg-choices">
        {methods.map((m) => option(m.method, METHOD_LABELS[m.method as PaymentMethodType], METHOD_HINTS[m.method as PaymentMethodType]))}
      </ul>
    </fieldset>
  );
}

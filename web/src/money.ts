// Amounts cross the API as decimal strings in major units ("1499.00") plus integer minor units;
// they are formatted for people here and never computed with floats.

/** "₹1,499.00" for ("1499.00", "INR"). The number is only formatted, never computed with. */
export function formatMoney(amount: string, currency: string, locale = "en-IN"): string {
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

/** Minor units as the decimal string the API takes, for a currency with `digits` decimals. */
export function minorToDecimal(minor: number, digits = 2): string {
  const sign = minor < 0 ? "-" : "";
  const text = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, "0");
  return digits === 0 ? `${sign}${text}` : `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

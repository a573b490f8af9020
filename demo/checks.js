// Money in the browser, and the refund form's check (the server checks again; this only spares a
// round trip). Card and UPI checks live in the gateway's checkout, which takes those details.

// Money stays in integer minor units; decimal strings only at the API's edge.
export function toDecimal(minor, exponent = 2) {
  const sign = minor < 0 ? "-" : "";
  const text = String(Math.abs(minor)).padStart(exponent + 1, "0");
  return `${sign}${text.slice(0, -exponent)}.${text.slice(-exponent)}`;
}

export function formatMoney(amount, currency) {
  // Intl formats a decimal string exactly, without going through a float.
  return new Intl.NumberFormat(currency === "INR" ? "en-IN" : "en-US", { style: "currency", currency }).format(amount);
}

export function checkAmount(text, maxDecimal) {
  const value = text.trim();
  if (!/^\d+(\.\d{1,2})?$/.test(value)) return "Enter an amount like 100.00.";
  const [whole, fraction = ""] = value.split(".");
  const minor = Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
  const [mw, mf] = maxDecimal.split(".");
  const max = Number(mw) * 100 + Number(mf);
  if (minor <= 0) return "The amount must be more than zero.";
  if (minor > max) return `At most ${maxDecimal} can still be refunded.`;
  return null;
}

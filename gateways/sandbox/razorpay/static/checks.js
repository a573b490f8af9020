// Checks the payment form makes before anything is sent: they spare the customer a round trip.
// The sandbox checks again; these are a convenience, never the authority. (An ES module, so a
// test can import it from a page on the sandbox's origin.)

export function digitsOnly(value) {
  return value.replace(/[\s-]/g, "");
}

export function luhnValid(digits) {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i -= 1) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function cardNetwork(digits) {
  if (/^3[47]/.test(digits)) return "American Express";
  if (/^3(0[0-5]|[68])/.test(digits)) return "Diners Club";
  if (/^4/.test(digits)) return "Visa";
  if (/^(5[1-5]|2[2-7])/.test(digits)) return "Mastercard";
  if (/^(60|65|81|82|508)/.test(digits)) return "RuPay";
  return null;
}

// Returns { field: message } for what is wrong; empty when the card can be sent.
export function checkCard({ number, expiry, cvv }, today = new Date()) {
  const errors = {};
  const digits = digitsOnly(number);
  if (!digits) errors.number = "Enter the card number.";
  else if (!/^\d+$/.test(digits)) errors.number = "A card number has only digits.";
  else if (digits.length < 12 || digits.length > 19) errors.number = "A card number has 12 to 19 digits.";
  else if (!luhnValid(digits)) errors.number = "This card number is not valid. Check for a typo.";

  const match = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(expiry);
  if (!expiry.trim()) errors.expiry = "Enter the expiry date.";
  else if (!match) errors.expiry = "Use MM/YY, for example 12/30.";
  else {
    const month = Number(match[1]);
    const year = match[2].length === 2 ? 2000 + Number(match[2]) : Number(match[2]);
    const now = today.getFullYear() * 12 + today.getMonth();
    const then = year * 12 + (month - 1);
    if (month < 1 || month > 12) errors.expiry = "The month must be 01 to 12.";
    else if (then < now) errors.expiry = "This card has expired.";
    else if (then > now + 20 * 12) errors.expiry = "Check the expiry year.";
  }

  const amex = cardNetwork(digits) === "American Express";
  const wanted = amex ? 4 : 3;
  if (!cvv) errors.cvv = "Enter the CVV.";
  else if (!/^\d+$/.test(cvv) || cvv.length !== wanted) {
    errors.cvv = `The CVV is ${wanted} digits${amex ? " on American Express cards" : ""}.`;
  }
  return errors;
}

// Razorpay's VPA rule: handle@provider.
export function checkVpa(vpa) {
  if (!vpa.trim()) return "Enter your UPI ID.";
  if (!/^[A-Za-z0-9.\-_]{2,256}@[A-Za-z]{2,64}$/.test(vpa.trim())) {
    return "A UPI ID looks like name@bank.";
  }
  return null;
}

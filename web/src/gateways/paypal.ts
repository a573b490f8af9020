// PayPal approval: redirect to the approve URL (the tab comes back to the shop's page with
// ?token=<PayPal order id>&PayerID=...), or a popup. What the return needs is kept in
// sessionStorage: ids and the order's amount, never card data.

const KEY = "paygraph:paypal";
const POPUP_NAME = "paygraph-paypal";

export interface PendingApproval {
  paymentId: string;
  gatewayOrderId: string;
  orderId: string;
  amount: string;
  currency: string;
  /** The initiatePayment input, so a retry after the return sends the same parameters. */
  input: Record<string, unknown>;
  saveMethod: boolean;
}

export interface PayPalReturn {
  pending: PendingApproval;
  approved: boolean;
}

export function rememberApproval(pending: PendingApproval): void {
  sessionStorage.setItem(KEY, JSON.stringify(pending));
}

export function forgetApproval(): void {
  sessionStorage.removeItem(KEY);
}

/** The PayPal return this page is showing, if its token matches the payment this tab sent to
 * PayPal. Reads only: `clearPayPalParams` tidies the address bar afterwards. */
export function readPayPalReturn(): PayPalReturn | null {
  if (typeof window === "undefined") return null;
  // In popup mode the approval window comes back to this page too: its opener captures.
  if (window.name === POPUP_NAME && window.opener) return null;
  const params = new URLSearchParams(window.location.search);
  const token = params.get("token");
  if (!token) return null;
  let pending: PendingApproval | null = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as PendingApproval | null;
  } catch {
    pending = null;
  }
  if (!pending || pending.gatewayOrderId !== token) return null;
  return { pending, approved: params.has("PayerID") };
}

/** This page's address without PayPal's parameters: where a redirect or popup comes back to. */
export function currentPage(): string {
  const url = new URL(window.location.href);
  url.searchParams.delete("token");
  url.searchParams.delete("PayerID");
  url.hash = "";
  return url.href;
}

/** Removes PayPal's token and PayerID from the address bar (a reload must not capture again). */
export function clearPayPalParams(): void {
  const params = new URLSearchParams(window.location.search);
  if (!params.has("token")) return;
  for (const name of ["token", "PayerID"]) params.delete(name);
  const query = params.toString();
  window.history.replaceState(window.history.state, "", `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`);
}

/** Approval in a popup: resolves when the popup comes back to this origin (approved or
 * cancelled) or is closed. */
export function approveInPopup(approveUrl: string): Promise<"approved" | "cancelled" | "closed" | "blocked"> {
  const popup = window.open(approveUrl, POPUP_NAME, "popup,width=480,height=720");
  if (!popup) return Promise.resolve("blocked");
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (popup.closed) {
        clearInterval(timer);
        resolve("closed");
        return;
      }
      let href: string;
      try {
        href = popup.location.href; // throws while the popup shows PayPal's origin
      } catch {
        return;
      }
      const url = new URL(href);
      if (url.origin !== window.location.origin || !url.searchParams.has("token")) return;
      clearInterval(timer);
      popup.close();
      resolve(url.searchParams.has("PayerID") ? "approved" : "cancelled");
    }, 300);
  });
}

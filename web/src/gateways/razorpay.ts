// Razorpay Checkout (checkout.js), driven through its documented API only: `new Razorpay(options)`,
// `on("payment.failed", cb)`, `open()`, `close()`. Card data is typed into Razorpay's own window.

export interface RazorpaySuccess {
  razorpay_payment_id: string;
  razorpay_order_id: string;
  razorpay_signature: string;
}

export interface RazorpayFailure {
  error: {
    code?: string;
    description?: string;
    source?: string;
    step?: string;
    reason?: string;
    metadata?: { order_id?: string; payment_id?: string };
  };
}

export interface RazorpayOptions {
  key: string;
  amount: number;
  currency: string;
  order_id: string;
  name?: string;
  description?: string;
  prefill?: Record<string, string>;
  notes?: Record<string, string>;
  theme?: { color?: string };
  handler: (response: RazorpaySuccess) => void;
  modal?: { ondismiss?: () => void; escape?: boolean };
  retry?: { enabled: boolean };
  [option: string]: unknown;
}

export interface RazorpayInstance {
  open(): void;
  close(): void;
  on(event: "payment.failed", callback: (response: RazorpayFailure) => void): void;
}

export type RazorpayConstructor = new (options: RazorpayOptions) => RazorpayInstance;

declare global {
  interface Window {
    Razorpay?: RazorpayConstructor;
  }
}

// One load per script URL per page, shared by every component: StrictMode's double effects and
// several checkouts on one page reuse the same promise. Nothing runs at import time.
const loads = new Map<string, Promise<RazorpayConstructor>>();

export function loadRazorpay(src: string): Promise<RazorpayConstructor> {
  const known = loads.get(src);
  if (known) return known;
  const loading = new Promise<RazorpayConstructor>((resolve, reject) => {
    if (typeof document === "undefined") {
      reject(new Error("Razorpay Checkout needs a browser"));
      return;
    }
    const ready = () => (window.Razorpay ? resolve(window.Razorpay) : reject(new Error(`${src} did not define Razorpay`)));
    const existing = document.querySelector<HTMLScriptElement>(`script[src="${CSS.escape(src)}"]`);
    if (existing && window.Razorpay) {
      ready();
      return;
    }
    const script = existing ?? document.createElement("script");
    script.addEventListener("load", ready, { once: true });
    script.addEventListener("error", () => reject(new Error(`${src} could not be loaded`)), { once: true });
    if (!existing) {
      script.src = src;
      script.async = true;
      document.head.appendChild(script);
    }
  });
  loads.set(src, loading);
  // A failed load may be retried (a flaky network), so it is not remembered.
  loading.catch(() => {
    if (loads.get(src) === loading) loads.delete(src);
    document.querySelector(`script[src="${CSS.escape(src)}"]`)?.remove();
  });
  return loading;
}

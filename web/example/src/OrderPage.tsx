// The brief's OrderPage: a cart, CheckoutFlow for it, and the customer's saved methods.
import { useState } from "react";
import { CheckoutFlow, PaymentMethods, minorToDecimal, type Payment } from "@paygraph/react";

const CATALOG = {
  INR: [
    { sku: "kurta", name: "Block-print cotton kurta", price: 189900 },
    { sku: "tote", name: "Jute tote bag", price: 64900 },
  ],
  USD: [
    { sku: "kurta", name: "Block-print cotton kurta", price: 2900 },
    { sku: "tote", name: "Jute tote bag", price: 990 },
  ],
} as const;
type Currency = keyof typeof CATALOG;
interface Cart {
  orderId: string;
  currency: Currency;
  qty: Record<string, number>;
}

const CART_KEY = "example-cart"; // survives the trip to PayPal and back
// `?paypal=popup` approves PayPal payments in a popup instead of leaving the page.
const PAYPAL_MODE = new URLSearchParams(window.location.search).get("paypal") === "popup" ? "popup" : "redirect";
const newOrderId = () => `KORA-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`.toUpperCase();
const freshCart = (currency: Currency = "INR"): Cart => ({ orderId: newOrderId(), currency, qty: { kurta: 1, tote: 1 } });

function loadCart(): Cart {
  try {
    const saved = JSON.parse(sessionStorage.getItem(CART_KEY) ?? "null") as Cart | null;
    if (saved?.orderId) return saved;
  } catch {
    // a fresh cart
  }
  return freshCart();
}

export function OrderPage({ customerId }: { customerId: string }) {
  const [cart, setCartState] = useState(loadCart);
  const [paid, setPaid] = useState<Payment | null>(null);
  const [round, setRound] = useState(0); // a new order after a payment gets a fresh checkout
  const setCart = (next: Cart) => {
    sessionStorage.setItem(CART_KEY, JSON.stringify(next));
    setCartState(next);
  };
  // A changed cart is a new order: a new orderId with its own amount.
  const change = (patch: Partial<Cart>) => setCart({ ...cart, ...patch, orderId: newOrderId() });
  const items = CATALOG[cart.currency];
  const lines = items
    .filter((item) => (cart.qty[item.sku] ?? 0) > 0)
    .map((item) => ({ label: item.name, quantity: cart.qty[item.sku], amount: minorToDecimal(item.price * (cart.qty[item.sku] ?? 0)) }));
  const total = items.reduce((sum, item) => sum + item.price * (cart.qty[item.sku] ?? 0), 0);
  const order = { orderId: cart.orderId, amount: minorToDecimal(total), currency: cart.currency, lines };

  return (
    <>
      <header className="shop-header">
        <strong>Kora Handloom</strong>
        <span>Signed in as {customerId}</span>
      </header>
      <main className="shop-main">
        <section className="shop-cart" aria-labelledby="cart-heading">
          <h1 id="cart-heading">Your cart</h1>
          <p className="shop-muted">Order {cart.orderId}</p>
          <div className="shop-field">
            <label htmlFor="currency">Currency</label>
            <select id="currency" value={cart.currency} disabled={paid !== null} onChange={(e) => change({ currency: e.target.value as Currency })}>
              <option value="INR">INR (Razorpay)</option>
              <option value="USD">USD (PayPal)</option>
            </select>
          </div>
          {items.map((item) => (
            <div className="shop-field" key={item.sku}>
              <label htmlFor={`qty-${item.sku}`}>Quantity of {item.name}</label>
              <select id={`qty-${item.sku}`} value={cart.qty[item.sku] ?? 0} disabled={paid !== null}
                onChange={(e) => change({ qty: { ...cart.qty, [item.sku]: Number(e.target.value) } })}>
                {[0, 1, 2, 3].map((n) => (
                  <option key={n} value={n}>{n}</option>
                ))}
              </select>
            </div>
          ))}
          {paid ? (
            <button type="button" className="shop-button" onClick={() => { setPaid(null); setRound(round + 1); setCart(freshCart(cart.currency)); }}>
              Start a new order
            </button>
          ) : null}
        </section>
        <div className="shop-pay">
          {total > 0 ? (
            <CheckoutFlow key={round} order={order} saveMethod paypalMode={PAYPAL_MODE} onSuccess={setPaid}
              onCancel={() => { setRound(round + 1); setCart(freshCart(cart.currency)); }} />
          ) : (
            <p>Add an item to pay.</p>
          )}
          <PaymentMethods />
        </div>
      </main>
    </>
  );
}

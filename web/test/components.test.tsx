import { StrictMode, useState } from "react";
import { describe, expect, test, vi } from "vitest";
import { commands, page } from "vitest/browser";
import { render } from "vitest-browser-react";
import { CheckoutOptionsDocument, SavedMethodsDocument } from "../src/documents.js";
import { CheckoutFlow, PaygraphProvider, PaymentMethods, type CheckoutOrder } from "../src/index.js";
import { documentHash } from "../src/persisted.js";
import { newCustomer, newOrderId, payByCard, withProvider } from "./support.js";

const DISPLAY_NAMES = ["Card", "UPI", "Net banking", "Wallet", "EMI"];

describe("CheckoutFlow", () => {
  test("reviews the order, then offers each method as a radio named by its display name", async () => {
    const { token } = await newCustomer();
    const Wrapper = withProvider(() => token);
    const order = { orderId: newOrderId(), amount: "4997.00", currency: "INR", lines: [{ label: "Handloom saree", amount: "4997.00" }] };
    const screen = await render(
      <StrictMode>
        <Wrapper>
          <CheckoutFlow order={order} onSuccess={() => {}} />
        </Wrapper>
      </StrictMode>,
    );
    await expect.element(screen.getByRole("heading", { name: "Review your order" })).toBeVisible();
    await expect.element(screen.getByText("Handloom saree")).toBeVisible();
    await screen.getByRole("button", { name: "Continue to payment" }).click();
    await expect.element(screen.getByRole("heading", { name: /Choose how to pay ₹4,997.00/ })).toHaveFocus();
    for (const name of DISPLAY_NAMES) {
      await expect.element(screen.getByRole("radio", { name, exact: true })).toBeVisible();
    }
    await expect.element(screen.getByRole("button", { name: "Pay ₹4,997.00" })).toBeEnabled();
    // No card field, ever: card data goes to the gateway's own checkout.
    expect(document.querySelectorAll('input[autocomplete^="cc-"], input[name*="card" i]').length).toBe(0);
    expect(screen.container.textContent).not.toMatch(/Card number|CVV/);
  });

  test("a changed order after the payment was started restarts at review, and pays the new amount", async () => {
    const { token } = await newCustomer();
    const Wrapper = withProvider(() => token);
    const first: CheckoutOrder = { orderId: newOrderId(), amount: "1200.00", currency: "INR" };
    const second: CheckoutOrder = { orderId: newOrderId(), amount: "1350.00", currency: "INR" };
    let change: (order: CheckoutOrder) => void = () => {};
    function Shop() {
      const [order, setOrder] = useState(first);
      change = setOrder;
      return <CheckoutFlow order={order} onSuccess={() => {}} />;
    }
    const screen = await render(
      <Wrapper>
        <Shop />
      </Wrapper>,
    );
    await screen.getByRole("button", { name: "Continue to payment" }).click();
    await screen.getByRole("radio", { name: "UPI", exact: true }).click();
    await screen.getByRole("button", { name: "Pay ₹1,200.00" }).click();
    // The payment exists: the flow is at the gateway (or reports the checkout it could not open).
    await expect.poll(() => screen.container.querySelector("[data-step]")?.getAttribute("data-step")).toMatch(/gateway|failure/);
    change(second);
    await expect.element(screen.getByRole("heading", { name: "Review your order" })).toBeVisible();
    await expect.element(screen.getByText(/Your order changed/)).toBeVisible();
    await expect.element(screen.getByText("₹1,350.00")).toBeVisible();
    await screen.getByRole("button", { name: "Continue to payment" }).click();
    await screen.getByRole("radio", { name: "UPI", exact: true }).click();
    await screen.getByRole("button", { name: "Pay ₹1,350.00" }).click();
    await expect.poll(() => screen.container.querySelector("[data-step]")?.getAttribute("data-step")).toMatch(/gateway|failure/);
    const payments = await commands.graphql(token, "{ payments(first: 5) { edges { node { orderId amount { amount } } } } }");
    const nodes = payments.data.payments.edges.map((e: { node: { orderId: string; amount: { amount: string } } }) => e.node);
    expect(nodes).toEqual([
      { orderId: second.orderId, amount: { amount: "1350.00" } },
      { orderId: first.orderId, amount: { amount: "1200.00" } },
    ]);
  });

  test("an API error is shown on the method step, never thrown", async () => {
    const Wrapper = withProvider(() => Promise.reject(new Error("session expired")));
    const errors = vi.fn();
    window.addEventListener("error", errors);
    const screen = await render(
      <Wrapper>
        <CheckoutFlow order={{ orderId: newOrderId(), amount: "10.00", currency: "INR" }} onSuccess={() => {}} />
      </Wrapper>,
    );
    await screen.getByRole("button", { name: "Continue to payment" }).click();
    await expect.element(screen.getByRole("alert")).toHaveTextContent(/session expired/);
    window.removeEventListener("error", errors);
    expect(errors).not.toHaveBeenCalled();
  });
});

describe("PaymentMethods", () => {
  test("shows the default, makes another the default and deletes one", async () => {
    const { token } = await newCustomer();
    await payByCard(token, { save: true });
    await payByCard(token, { save: true, card: { card_number: "5104015555555558" } });
    const Wrapper = withProvider(() => token);
    const selected = vi.fn();
    const screen = await render(
      <Wrapper>
        <PaymentMethods onSelect={selected} />
      </Wrapper>,
    );
    const makeDefault = screen.getByRole("button", { name: /^Make .* the default$/ });
    await expect.element(makeDefault).toBeVisible();
    const label = (await makeDefault.element().getAttribute("aria-label"))!.replace(/^Make (.*) the default$/, "$1");
    await makeDefault.click();
    await expect.element(screen.getByRole("status")).toHaveTextContent(`${label} is now your default method.`);
    await screen.getByRole("radio", { name: label }).click();
    expect(selected).toHaveBeenCalledWith(expect.objectContaining({ isDefault: true }));
    await screen.getByRole("button", { name: `Delete ${label}` }).click();
    await expect.element(screen.getByRole("status")).toHaveTextContent(`${label} was deleted.`);
    await expect.poll(() => page.getByRole("button", { name: /^Delete / }).elements().length).toBe(1);
  });

  test("an expired card is shown as such: not selectable, not offered at checkout", async () => {
    // The sandbox keeps no expiry on saved cards, so this API answers from a canned response.
    const method = (id: string, last4: string, expired: boolean, isDefault: boolean) => ({
      __typename: "SavedMethod", id, gateway: "RAZORPAY", methodType: "CARD", last4, network: "Visa",
      expiryMonth: 1, expiryYear: expired ? 2020 : 2031, expired, vpaMasked: null, label: `Visa ${last4}`, isDefault,
    });
    // The package names its documents by hash (documentId).
    const answers: Record<string, unknown> = {
      [documentHash(SavedMethodsDocument)!]: { __typename: "Query", savedMethods: [method("m1", "1007", false, true), method("m2", "1111", true, false)] },
      [documentHash(CheckoutOptionsDocument)!]: {
        __typename: "Query",
        supportedMethods: [{ __typename: "SupportedMethod", method: "CARD", gateway: "RAZORPAY", emiTenures: [] }],
        netbankingBanks: [],
        wallets: [],
      },
    };
    const canned: typeof fetch = async (_url, init) => {
      const { documentId } = JSON.parse(String(init?.body)) as { documentId: string };
      return new Response(JSON.stringify({ data: answers[documentId] }), { headers: { "Content-Type": "application/json" } });
    };
    const screen = await render(
      <PaygraphProvider url="/graphql" getToken={() => "t"} fetch={canned}>
        <PaymentMethods onSelect={() => {}} />
        <CheckoutFlow order={{ orderId: newOrderId(), amount: "10.00", currency: "INR" }} onSuccess={() => {}} />
      </PaygraphProvider>,
    );
    const saved = screen.getByRole("region", { name: "Saved payment methods" });
    await expect.element(saved.getByText("Expired", { exact: true })).toBeVisible();
    await expect.element(saved.getByRole("listitem").filter({ hasText: "1111" })).toHaveTextContent(/Expired\s*01\/20/);
    await expect.element(saved.getByRole("listitem").filter({ hasText: "1007" })).toHaveTextContent(/Default\s*Expires 01\/31/);
    await expect.element(saved.getByRole("radio", { name: "Visa •••• 1111" })).toBeDisabled();
    await expect.element(saved.getByRole("radio", { name: "Visa •••• 1007" })).toBeEnabled();
    expect(saved.getByRole("button", { name: /^Make / }).elements()).toHaveLength(0);
    await screen.getByRole("button", { name: "Continue to payment" }).click();
    const flow = screen.getByRole("region", { name: "Checkout" });
    await expect.element(flow.getByRole("radio", { name: "Visa •••• 1007" })).toBeChecked(); // the default
    expect(flow.getByRole("radio", { name: /1111/ }).elements()).toHaveLength(0);
  });
});

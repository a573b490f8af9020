import { checkout, expect, expectAccessible, graphql, test } from "./fixtures";

test("PayPal in USD: redirect to the approval page and back, then the payment is captured", async ({ shop, customer }) => {
  await shop.getByLabel("Currency").selectOption("USD");
  const flow = checkout(shop);
  // Keyboard only on the shop's page.
  await flow.getByRole("button", { name: "Continue to payment" }).press("Enter");
  await expect(flow.getByRole("heading", { name: /Choose how to pay \$38\.90/ })).toBeFocused();
  await flow.getByRole("radio", { name: /^PayPal/ }).press("Space");
  await expect(flow.getByRole("radio", { name: /^PayPal/ })).toBeChecked();
  await flow.getByRole("button", { name: "Continue to PayPal" }).press("Enter");
  // PayPal's approval page (the sandbox's), on the API's origin.
  await shop.waitForURL(/\/sandbox\/paypal\/checkoutnow\?token=/);
  await shop.getByRole("button", { name: "Pay now" }).click();
  // Back on the shop's page: the flow resumes from sessionStorage and captures.
  await shop.waitForURL((url) => url.port === new URL(test.info().project.use.baseURL!).port);
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
  await expect(flow.getByLabel("Receipt")).toContainText("$38.90");
  expect(shop.url()).not.toContain("PayerID"); // a reload must not capture again
  await expect(flow.getByRole("status")).toHaveText("Payment successful");
  await expectAccessible(shop);
  const payments = await graphql(customer, "{ payments(first: 1) { edges { node { status gateway amount { amount currency } } } } }");
  expect(payments.data.payments.edges[0].node).toEqual({ status: "COMPLETED", gateway: "PAYPAL", amount: { amount: "38.90", currency: "USD" } });
});

test("PayPal cancelled at the approval page comes back to pay again, uncharged", async ({ shop }) => {
  await shop.getByLabel("Currency").selectOption("USD");
  const flow = checkout(shop);
  await flow.getByRole("button", { name: "Continue to payment" }).click();
  await flow.getByRole("radio", { name: /^PayPal/ }).check();
  await flow.getByRole("button", { name: "Continue to PayPal" }).click();
  await shop.waitForURL(/checkoutnow/);
  await shop.getByRole("button", { name: "Cancel" }).click();
  await expect(flow.getByText("You cancelled at PayPal; you have not been charged.")).toBeVisible();
  await expect(flow.getByRole("button", { name: "Continue to PayPal" })).toBeVisible();
});

test("PayPal in a popup: the shop's page stays, the popup closes once approved", async ({ shop, customer }) => {
  await shop.goto(`/?customer=${customer}&paypal=popup`);
  await shop.getByLabel("Currency").selectOption("USD");
  const flow = checkout(shop);
  await flow.getByRole("button", { name: "Continue to payment" }).click();
  await flow.getByRole("radio", { name: /^PayPal/ }).check();
  const [popup] = await Promise.all([shop.waitForEvent("popup"), flow.getByRole("button", { name: "Continue to PayPal" }).click()]);
  const closed = popup.waitForEvent("close"); // the shop closes it as soon as it is back
  await popup.getByRole("button", { name: "Pay now" }).click({ noWaitAfter: true });
  await closed;
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
  const payments = await graphql(customer, "{ payments(first: 1) { edges { node { status timeline { toStatus } } } } }");
  expect(payments.data.payments.edges[0].node.status).toBe("COMPLETED");
});

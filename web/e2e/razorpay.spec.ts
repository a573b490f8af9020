// Razorpay Checkout flows through the sandbox's checkout.js stand-in (its modal iframe has
// labelled "Card number", "Expiry", "CVV", "UPI ID", bank and wallet choices, "EMI tenure"
// and a "Pay ₹…" button). Card data is typed there only, never into the shop's page.
import type { FrameLocator, Page } from "@playwright/test";
import { checkout, expect, expectAccessible, saveCard, TEST_CARD, test } from "./fixtures";

const modal = (page: Page): FrameLocator => page.frameLocator("iframe").first();

async function choose(page: Page, method: RegExp) {
  const flow = checkout(page);
  await flow.getByRole("button", { name: "Continue to payment" }).click();
  await flow.getByRole("radio", { name: method }).check();
  await flow.getByRole("button", { name: /^Pay ₹/ }).click();
  return flow;
}

async function payByCard(page: Page, number: string, options: { save?: boolean } = {}) {
  const frame = modal(page);
  await frame.getByLabel("Card number").fill(number);
  if (options.save) await frame.getByLabel("Save this card").check();
  await frame.getByLabel("Expiry").fill(TEST_CARD.expiry);
  await frame.getByLabel("CVV").fill(TEST_CARD.cvv);
  await frame.getByRole("button", { name: /^Pay ₹/ }).click();
}

test("card: paid in Razorpay Checkout and saved there, confirmed, receipt shown", async ({ shop }) => {
  const flow = await choose(shop, /^Card/);
  await payByCard(shop, TEST_CARD.number, { save: true });
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
  await expect(flow.getByLabel("Receipt")).toContainText("₹2,548.00");
  await expect(modal(shop).getByLabel("Card number")).toBeHidden();
  // Card data was typed into the gateway's frame only: the shop's page has no such field.
  await expect(shop.locator('input[autocomplete^="cc-"], input[name*="card" i]')).toHaveCount(0);
  // The card the customer saved in the gateway's checkout is a saved method now.
  await shop.reload();
  await expect(shop.getByRole("region", { name: "Saved payment methods" }).getByText(/•••• 1007/)).toBeVisible();
});

test("a declined card, then a retry on the same order", async ({ shop }) => {
  const flow = await choose(shop, /^Card/);
  await payByCard(shop, TEST_CARD.declined);
  await expect(flow.getByRole("heading", { name: "Payment failed" })).toBeVisible();
  await expect(flow.getByRole("alert")).not.toBeEmpty();
  await expect(flow.getByRole("status")).toHaveText(/^Payment failed: /);
  await expectAccessible(shop);
  await flow.getByRole("button", { name: "Try again" }).click();
  await payByCard(shop, TEST_CARD.number);
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
});

test("UPI", async ({ shop }) => {
  const flow = await choose(shop, /^UPI/);
  await modal(shop).getByLabel("UPI ID").fill("success@razorpay");
  await modal(shop).getByRole("button", { name: /^Pay ₹/ }).click();
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
});

for (const [method, field] of [[/^Net banking/, "Bank"], [/^Wallet/, "Wallet"]] as const) {
  test(`${field === "Bank" ? "net banking" : "wallet"}: the bank page approves`, async ({ shop }) => {
    const flow = await choose(shop, method);
    const frame = modal(shop);
    await frame.getByRole("combobox", { name: field }).selectOption({ index: 1 });
    await frame.getByRole("button", { name: /^Pay ₹/ }).click();
    await frame.getByRole("button", { name: "Success" }).click();
    await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
  });
}

test("EMI over 6 months", async ({ shop }) => {
  const flow = checkout(shop);
  await flow.getByRole("button", { name: "Continue to payment" }).click();
  await flow.getByRole("radio", { name: /^EMI/ }).check();
  await flow.getByLabel("EMI tenure").selectOption("6");
  await flow.getByRole("button", { name: /^Pay ₹/ }).click();
  // The tenure chosen on the shop's page is preselected in the gateway's checkout.
  await expect(modal(shop).getByLabel("EMI tenure")).toHaveValue("6");
  await payByCard(shop, TEST_CARD.number);
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
  await expect(flow.getByLabel("Receipt")).toContainText("6 months");
});

test("a saved card pays the next order", async ({ shop, customer }) => {
  await saveCard(customer, "4100280000001007");
  await shop.reload();
  const flow = await choose(shop, /•••• 1007/);
  await expect(modal(shop).getByText(/Pay with saved card .*•••• 1007/)).toBeVisible();
  await expect(modal(shop).getByLabel("Card number")).toBeHidden();
  await modal(shop).getByRole("button", { name: /^Pay ₹/ }).click();
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
});

test("dismissing the checkout keeps the order payable, uncharged", async ({ shop }) => {
  const flow = await choose(shop, /^Card/);
  await expect(modal(shop).getByLabel("Card number")).toBeVisible();
  await shop.keyboard.press("Escape");
  await expect(flow.getByText("The checkout was closed before paying; you have not been charged.")).toBeVisible();
  await flow.getByRole("button", { name: /^Pay ₹/ }).click();
  await payByCard(shop, TEST_CARD.number);
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
});

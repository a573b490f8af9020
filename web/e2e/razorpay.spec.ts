// Razorpay Checkout flows through the sandbox's checkout.js stand-in (its modal iframe has
// labelled "Card number", "Expiry", "CVV", "UPI ID", bank and wallet choices, "EMI tenure"
// and a "Pay ₹…" button). Card data is typed there only, never into the shop's page.
import type { FrameLocator, Page } from "@playwright/test";
import { checkout, expect, razorpayCheckoutServed, saveCard, TEST_CARD, test } from "./fixtures";

test.beforeEach(async () => {
  test.skip(!(await razorpayCheckoutServed()), "the API does not serve /sandbox/razorpay/v1/checkout.js yet");
});

const modal = (page: Page): FrameLocator => page.frameLocator("iframe").first();

async function choose(page: Page, method: RegExp, options: { save?: boolean } = {}) {
  const flow = checkout(page);
  await flow.getByRole("button", { name: "Continue to payment" }).click();
  await flow.getByRole("radio", { name: method }).check();
  if (options.save) await flow.getByLabel("Save this card for next time").check();
  await flow.getByRole("button", { name: /^Pay ₹/ }).click();
  return flow;
}

async function payByCard(page: Page, number: string) {
  const frame = modal(page);
  await frame.getByLabel("Card number").fill(number);
  await frame.getByLabel("Expiry").fill(TEST_CARD.expiry);
  await frame.getByLabel("CVV").fill(TEST_CARD.cvv);
  await frame.getByRole("button", { name: /^Pay ₹/ }).click();
}

test("card: paid in Razorpay Checkout, confirmed, receipt shown", async ({ shop }) => {
  const flow = await choose(shop, /^Card/);
  await payByCard(shop, TEST_CARD.number);
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
  await expect(flow.getByLabel("Receipt")).toContainText("₹2,548.00");
});

test("a declined card, then a retry on the same order", async ({ shop }) => {
  const flow = await choose(shop, /^Card/);
  await payByCard(shop, TEST_CARD.declined);
  await expect(flow.getByRole("heading", { name: "Payment failed" })).toBeVisible();
  await expect(flow.getByRole("alert")).not.toBeEmpty();
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

for (const [method, choice] of [[/^Net banking/, /bank/i], [/^Wallet/, /wallet/i]] as const) {
  test(`${method.source.slice(1)}: the bank page approves`, async ({ shop }) => {
    const flow = await choose(shop, method);
    const frame = modal(shop);
    const select = frame.getByRole("combobox", { name: choice });
    if (await select.count()) await select.selectOption({ index: 1 });
    else await frame.getByRole("radio", { name: choice }).first().check();
    await frame.getByRole("button", { name: /^Pay ₹/ }).click();
    await frame.getByRole("button", { name: /success/i }).click();
    await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
  });
}

test("EMI over 6 months", async ({ shop }) => {
  const flow = checkout(shop);
  await flow.getByRole("button", { name: "Continue to payment" }).click();
  await flow.getByRole("radio", { name: /^EMI/ }).check();
  await flow.getByLabel("EMI tenure").selectOption("6");
  await flow.getByRole("button", { name: /^Pay ₹/ }).click();
  const frame = modal(shop);
  const tenure = frame.getByLabel("EMI tenure");
  if (await tenure.count()) await tenure.selectOption("6").catch(() => tenure.fill("6"));
  await payByCard(shop, TEST_CARD.number);
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
  await expect(flow.getByLabel("Receipt")).toContainText("6 months");
});

test("a saved card pays the next order", async ({ shop, customer }) => {
  await saveCard(customer, "4100280000001007");
  await shop.reload();
  const flow = await choose(shop, /•••• 1007/);
  const pay = modal(shop).getByRole("button", { name: /^Pay ₹/ });
  await pay.click();
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
});

test("dismissing the checkout keeps the order payable, uncharged", async ({ shop }) => {
  const flow = await choose(shop, /^Card/);
  await expect(modal(shop).getByLabel("Card number")).toBeVisible();
  await shop.keyboard.press("Escape");
  const close = modal(shop).getByRole("button", { name: /close/i });
  if (await close.count()) await close.click();
  await expect(flow.getByText("The checkout was closed before paying; you have not been charged.")).toBeVisible();
  await flow.getByRole("button", { name: /^Pay ₹/ }).click();
  await payByCard(shop, TEST_CARD.number);
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
});

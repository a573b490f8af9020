import { expect, saveCard, test } from "./fixtures";

test("saved methods: the default is marked, another becomes the default, one is deleted", async ({ page, customer, shop }) => {
  await saveCard(customer, "4100280000001007");
  await saveCard(customer, "5104015555555558");
  await shop.reload();
  const saved = shop.getByRole("region", { name: "Saved payment methods" });
  await expect(saved.getByRole("button", { name: /^Delete / })).toHaveCount(2);
  await expect(saved.getByText("Default", { exact: true })).toHaveCount(1);
  const makeDefault = saved.getByRole("button", { name: /^Make .* the default$/ });
  const name = (await makeDefault.getAttribute("aria-label"))!.replace(/^Make (.*) the default$/, "$1");
  await makeDefault.press("Enter"); // keyboard only
  await expect(saved.getByRole("status")).toHaveText(`${name} is now your default method.`);
  await expect(saved.getByRole("listitem").filter({ hasText: name }).getByText("Default", { exact: true })).toBeVisible();
  await saved.getByRole("button", { name: `Delete ${name}` }).click();
  await expect(saved.getByRole("status")).toHaveText(`${name} was deleted.`);
  await expect(saved.getByRole("button", { name: /^Delete / })).toHaveCount(1);
  void page;
});

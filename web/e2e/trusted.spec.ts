// The shop against an API that runs only the package's manifest (TRUSTED_DOCUMENTS_PATH =
// persisted-documents.json, TRUSTED_DOCUMENTS_ONLY=true; the "trusted" project of
// playwright.config.ts): every request names its document by hash, a card payment completes,
// and the live status arrives over the WebSocket subscription, named by hash too.
import { readFileSync } from "node:fs";
import { checkout, expect, TEST_CARD, test } from "./fixtures";

type Payload = { query?: unknown; documentId?: unknown; variables?: Record<string, unknown> };
const manifest = JSON.parse(readFileSync(new URL("../persisted-documents.json", import.meta.url), "utf8")) as Record<string, string>;
const known = new Set(Object.keys(manifest));

test("a card payment against a trusted-documents-only API, with the live status", async ({ shop, api }) => {
  // The API really refuses document text.
  const text = await fetch(`${api}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query: "{ __typename }" }),
  });
  expect(text.status).toBe(400);
  expect((await text.json()).errors[0].extensions.code).toBe("TRUSTED_DOCUMENTS_ONLY");

  const posted: Payload[] = [];
  const refused: number[] = [];
  shop.on("request", (request) => {
    if (request.url() === `${api}/graphql` && request.method() === "POST") posted.push(request.postDataJSON() as Payload);
  });
  shop.on("response", (response) => {
    if (response.url() === `${api}/graphql` && response.status() >= 400) refused.push(response.status());
  });
  const subscribed: Payload[] = [];
  const statuses: string[] = [];
  shop.on("websocket", (socket) => {
    socket.on("framesent", ({ payload }) => {
      const message = JSON.parse(String(payload)) as { type: string; payload?: Payload };
      if (message.type === "subscribe" && message.payload) subscribed.push(message.payload);
    });
    socket.on("framereceived", ({ payload }) => {
      const message = JSON.parse(String(payload)) as { type: string; payload?: { data?: { paymentStatusChanged?: { status: string } } } };
      const status = message.payload?.data?.paymentStatusChanged?.status;
      if (message.type === "next" && status) statuses.push(status);
      if (message.type === "error") statuses.push(`error: ${JSON.stringify(message.payload)}`);
    });
  });

  // The page was loaded before the listeners: load it again so every request is seen.
  await shop.reload();
  const flow = checkout(shop);
  await flow.getByRole("button", { name: "Continue to payment" }).click();
  await flow.getByRole("radio", { name: /^Card/ }).check();
  await flow.getByRole("button", { name: /^Pay ₹/ }).click();
  const frame = shop.frameLocator("iframe").first();
  await frame.getByLabel("Card number").fill(TEST_CARD.number);
  await frame.getByLabel("Expiry").fill(TEST_CARD.expiry);
  await frame.getByLabel("CVV").fill(TEST_CARD.cvv);
  await frame.getByRole("button", { name: /^Pay ₹/ }).click();
  await expect(flow.getByRole("heading", { name: "Payment successful" })).toBeVisible();
  await expect(flow.getByLabel("Receipt")).toContainText("₹2,548.00");

  // The live status: paymentStatusChanged over the WebSocket reports the completed payment.
  await expect.poll(() => statuses).toContain("COMPLETED");
  expect(statuses.filter((s) => s.startsWith("error"))).toEqual([]);
  expect(subscribed.length).toBeGreaterThan(0);
  for (const payload of subscribed) {
    expect(payload).not.toHaveProperty("query");
    expect(known.has(String(payload.documentId))).toBe(true);
  }
  // HTTP: options, saved methods, initiate and verify, each by hash alone.
  expect(posted.length).toBeGreaterThanOrEqual(3);
  for (const body of posted) {
    expect(body).not.toHaveProperty("query");
    expect(known.has(String(body.documentId))).toBe(true);
  }
  expect(refused).toEqual([]);
});

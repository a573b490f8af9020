// The customer's bearer token. A real shop's backend mints it for its signed-in customer (it
// holds the JWT key); here the example's dev server forwards to paygraph's development-only
// POST /demo/token. The customer is `?customer=ID` in the address, else "shopper-1".
const fromUrl = new URLSearchParams(window.location.search).get("customer");
if (fromUrl) sessionStorage.setItem("example-customer", fromUrl);
export const customerId = fromUrl ?? sessionStorage.getItem("example-customer") ?? "shopper-1";

let cached: { token: string; at: number } | null = null;

export async function getToken(): Promise<string> {
  if (cached && Date.now() - cached.at < 50 * 60 * 1000) return cached.token;
  const answer = await fetch("/shop/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ customerId }),
  });
  if (!answer.ok) throw new Error(`the shop could not get a token (${answer.status})`);
  const body = (await answer.json()) as { token: string };
  cached = { token: body.token, at: Date.now() };
  return body.token;
}

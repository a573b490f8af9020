// Browser commands: what a test needs from the server side, run in Node (no CORS, no Origin):
// development tokens, and the sandbox's checkout stand-in played like a customer's browser.
import type { BrowserCommand } from "vitest/node";

const api = () => {
  const url = process.env.PAYGRAPH_TEST_URL;
  if (!url) throw new Error("the paygraph API is not running (test/global-setup.ts)");
  return url;
};

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const answer = await fetch(`${api()}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return answer.json();
}

const paygraphToken: BrowserCommand<[customerId: string]> = async (_context, customerId) => {
  const body = await post("/demo/token", { customerId });
  return body.token as string;
};

/** Pays a Razorpay order through the sandbox's checkout stand-in (what checkout.js submits). */
const razorpayPay: BrowserCommand<[orderId: string, body: Record<string, unknown>]> = async (_context, orderId, body) =>
  post(`/sandbox/razorpay/checkout/${encodeURIComponent(orderId)}/pay`, body);

const graphql: BrowserCommand<[token: string, query: string, variables?: Record<string, unknown>]> = async (_context, token, query, variables = {}) =>
  post("/graphql", { query, variables }, { Authorization: `Bearer ${token}` });

export const commands = { paygraphToken, razorpayPay, graphql };

declare module "vitest/browser" {
  interface BrowserCommands {
    paygraphToken(customerId: string): Promise<string>;
    razorpayPay(orderId: string, body: Record<string, unknown>): Promise<Record<string, unknown>>;
    graphql(token: string, query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: unknown[] }>;
  }
}

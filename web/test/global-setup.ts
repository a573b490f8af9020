import type { TestProject } from "vitest/node";
import { startPaygraph } from "../scripts/serve-paygraph.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    paygraphUrl: string;
  }
}

let running: Promise<{ url: string; stop: () => Promise<void> }> | null = null;

// Vitest may run this once per project instance: one API serves them all.
export default async function setup(project: TestProject) {
  const port = process.env.PAYGRAPH_VITEST_PORT;
  const first = running === null;
  running ??= startPaygraph({ origins: [`http://127.0.0.1:${port}`, `http://localhost:${port}`], quiet: true });
  const { url, stop } = await running;
  // The browser commands (test/commands.ts) run in this process and read it from here.
  process.env.PAYGRAPH_TEST_URL = url;
  project.provide("paygraphUrl", url);
  return first ? stop : undefined;
}

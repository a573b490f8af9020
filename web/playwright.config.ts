// End-to-end tests of the example shop in Debian's Chromium (never a downloaded browser): the
// API (`paygraph dev` on a free port, fresh data) and the example's Vite server on another
// port, so every API call from the page is cross-origin, as in a real shop. The "trusted"
// project runs the same shop against a second API that runs only the package's manifest
// (TRUSTED_DOCUMENTS_PATH=persisted-documents.json, TRUSTED_DOCUMENTS_ONLY=true), as production should.
import { fileURLToPath } from "node:url";
import { defineConfig } from "@playwright/test";
import type { E2eOptions } from "./e2e/fixtures.ts";
import { freePort } from "./scripts/serve-paygraph.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "./test/chromium.ts";

// Chosen once in the runner: its workers inherit the environment, so every process agrees.
process.env.PAYGRAPH_E2E_API_PORT ??= String(await freePort());
process.env.PAYGRAPH_E2E_EXAMPLE_PORT ??= String(await freePort());
process.env.PAYGRAPH_E2E_TRUSTED_API_PORT ??= String(await freePort());
process.env.PAYGRAPH_E2E_TRUSTED_EXAMPLE_PORT ??= String(await freePort());
const api = `http://127.0.0.1:${process.env.PAYGRAPH_E2E_API_PORT}`;
const shop = `http://127.0.0.1:${process.env.PAYGRAPH_E2E_EXAMPLE_PORT}`;
const trustedApi = `http://127.0.0.1:${process.env.PAYGRAPH_E2E_TRUSTED_API_PORT}`;
const trustedShop = `http://127.0.0.1:${process.env.PAYGRAPH_E2E_TRUSTED_EXAMPLE_PORT}`;
process.env.PAYGRAPH_E2E_API_URL = api;
const vite = "node node_modules/vite/bin/vite.js";
const manifest = fileURLToPath(new URL("./persisted-documents.json", import.meta.url));

export default defineConfig<E2eOptions>({
  testDir: "e2e",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 2,
  reporter: [["list"]],
  use: {
    baseURL: shop,
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
    viewport: { width: 1280, height: 860 },
    trace: "off",
  },
  webServer: [
    {
      command: "node scripts/serve-paygraph.mjs",
      url: `${api}/readyz`,
      timeout: 120_000,
      reuseExistingServer: false,
      gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
      env: {
        PAYGRAPH_PORT: process.env.PAYGRAPH_E2E_API_PORT,
        // The shop's origin: CORS, and where initiatePayment's PayPal returnUrl may point.
        PAYGRAPH_ALLOW_ORIGINS: shop,
        // The package's documents go by hash: this API knows them (and still runs the tests'
        // own text queries; the "trusted" project's API does not).
        TRUSTED_DOCUMENTS_PATH: manifest,
      },
    },
    {
      // The production build: what a shop ships (and no dev-server dependency re-optimisation
      // reloading the page under a test).
      command: `${vite} build --logLevel warn --config example/vite.config.ts && ${vite} preview --config example/vite.config.ts`,
      url: shop,
      timeout: 60_000,
      reuseExistingServer: false,
      env: { VITE_PAYGRAPH_URL: api, EXAMPLE_PORT: process.env.PAYGRAPH_E2E_EXAMPLE_PORT },
    },
    {
      command: "node scripts/serve-paygraph.mjs",
      url: `${trustedApi}/readyz`,
      timeout: 120_000,
      reuseExistingServer: false,
      gracefulShutdown: { signal: "SIGTERM", timeout: 20_000 },
      env: {
        PAYGRAPH_PORT: process.env.PAYGRAPH_E2E_TRUSTED_API_PORT,
        PAYGRAPH_ALLOW_ORIGINS: trustedShop,
        TRUSTED_DOCUMENTS_PATH: manifest,
        TRUSTED_DOCUMENTS_ONLY: "true",
      },
    },
    {
      // The same shop built against the trusted-documents API (its own output directory).
      command: `${vite} build --logLevel warn --config example/vite.config.ts --outDir dist-trusted && ${vite} preview --config example/vite.config.ts --outDir dist-trusted`,
      url: trustedShop,
      timeout: 60_000,
      reuseExistingServer: false,
      env: { VITE_PAYGRAPH_URL: trustedApi, EXAMPLE_PORT: process.env.PAYGRAPH_E2E_TRUSTED_EXAMPLE_PORT },
    },
  ],
  projects: [
    { name: "desktop", testIgnore: /(screens|trusted)\.spec/ },
    { name: "screens", testMatch: /screens\.spec/ },
    { name: "trusted", testMatch: /trusted\.spec/, use: { baseURL: trustedShop, api: trustedApi } },
  ],
});

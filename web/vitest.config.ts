// Component and hook tests in Debian's Chromium (Vitest browser mode, no browser download),
// against a live paygraph API that test/global-setup.ts starts. The page is served from its own
// origin, so every call to the API is cross-origin, as in a shop.
import react from "@vitejs/plugin-react";
import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";
import { freePort } from "./scripts/serve-paygraph.mjs";
import { commands } from "./test/commands.ts";
import { CHROMIUM, CHROMIUM_ARGS } from "./test/chromium.ts";

process.env.PAYGRAPH_VITEST_PORT ??= String(await freePort());
const port = Number(process.env.PAYGRAPH_VITEST_PORT);

export default defineConfig({
  plugins: [react()],
  // Optimised up front: a dependency discovered mid-run would make Vite reload the test page.
  optimizeDeps: {
    include: ["react", "react/jsx-dev-runtime", "react-dom/client", "urql", "@urql/core", "graphql-ws", "wonka", "vitest-browser-react"],
  },
  server: { host: "127.0.0.1", port, strictPort: true },
  test: {
    include: ["test/**/*.test.{ts,tsx}"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
      instances: [{ browser: "chromium" }],
      api: { host: "127.0.0.1", port, strictPort: true },
      commands,
    },
  },
});

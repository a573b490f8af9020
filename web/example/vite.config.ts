// The example shop: `npm run example` serves it on http://127.0.0.1:5173 against the API at
// VITE_PAYGRAPH_URL (default http://127.0.0.1:8000, i.e. `make run`); the e2e tests serve its
// production build with `vite preview` (same port setting and token forward). The browser calls the API
// cross-origin; /shop/token stands in for the shop's own backend minting the customer's token.
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig, loadEnv } from "vite";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig(({ mode }) => {
  const env = { ...loadEnv(mode, here("."), "VITE_"), ...process.env };
  const api = env.VITE_PAYGRAPH_URL ?? "http://127.0.0.1:8000";
  const port = Number(env.EXAMPLE_PORT ?? 5173);
  return {
    root: here("."),
    plugins: [react()],
    define: { "import.meta.env.VITE_PAYGRAPH_URL": JSON.stringify(api) },
    resolve: {
      alias: [
        { find: "@paygraph/react/styles.css", replacement: here("../src/styles.css") },
        { find: "@paygraph/react", replacement: here("../src/index.ts") },
      ],
    },
    build: { outDir: here("dist"), emptyOutDir: true },
    preview: { host: "127.0.0.1", port, strictPort: true },
    server: {
      host: "127.0.0.1",
      port,
      strictPort: true,
      proxy: {
        // A shop's backend mints tokens for its signed-in customer; in development paygraph's
        // POST /demo/token does it, called server-side (no browser Origin) like a backend would.
        "/shop/token": {
          target: api,
          changeOrigin: true,
          rewrite: () => "/demo/token",
          configure: (proxy) => proxy.on("proxyReq", (request) => request.removeHeader("origin")),
        },
      },
    },
  };
});

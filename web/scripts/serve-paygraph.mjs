// Starts the paygraph API for the web tests like `make run` does (`paygraph dev`: API, worker,
// sandbox gateways, an embedded MongoDB-wire server and Redis), on a free port with a fresh
// temporary data directory, from the repository's .venv. Used by Vitest's globalSetup and, as a
// command, by Playwright's webServer. Needs the Python dev extra (`make test` installs it).
//
//   PAYGRAPH_ALLOW_ORIGINS=http://127.0.0.1:5173 node scripts/serve-paygraph.mjs
//   (port: PAYGRAPH_PORT or PORT, else a free one)
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export function pythonPath() {
  const python = process.env.PAYGRAPH_PYTHON ?? join(repo, ".venv/bin/python");
  if (!existsSync(python)) throw new Error(`${python} is missing: run \`make test\` (or make run) once to create the venv`);
  return python;
}

async function waitReady(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`paygraph dev exited with ${child.exitCode}`);
    try {
      const answer = await fetch(`${url}/readyz`);
      if (answer.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`paygraph dev did not become ready on ${url} within ${timeoutMs / 1000} s`);
}

/**
 * @param {{port?: number, origins?: string[], quiet?: boolean}} options
 * @returns {Promise<{url: string, stop: () => Promise<void>}>}
 */
export async function startPaygraph(options = {}) {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const home = await mkdtemp(join(tmpdir(), "paygraph-web-"));
  const env = { ...process.env };
  for (const name of ["MONGODB_URL", "REDIS_URL", "JWT_SECRET", "JWT_PUBLIC_KEY", "ENCRYPTION_KEYS"]) delete env[name];
  Object.assign(env, {
    APP_ENV: "development",
    PORT: String(port),
    LOG_LEVEL: process.env.PAYGRAPH_LOG_LEVEL ?? "WARNING",
    // One IP drives every test: the per-IP initiate limit would throttle the suite.
    RATE_LIMIT_INITIATE: "100000/minute",
    // Declines are tested on purpose: no error-rate alert for them.
    ALERT_MIN_ATTEMPTS: "1000000",
    // Payments that name no returnUrl come back to this server's own pages (as `make run`'s do).
    PAYPAL_RETURN_URL: `${url}/checkout/success`,
    PAYPAL_CANCEL_URL: `${url}/checkout/cancel`,
  });
  // The pages that call this API cross-origin (and where PayPal may send their buyers back).
  if (options.origins?.length) env.CORS_ALLOW_ORIGINS = [url, ...options.origins].join(",");
  // cwd is the temporary directory: `paygraph dev` keeps its data and secrets in ./.paygraph,
  // and no developer's .env is read.
  const child = spawn(pythonPath(), ["-m", "cli", "dev", "--port", String(port)], {
    cwd: home,
    env,
    stdio: ["ignore", options.quiet ? "ignore" : "inherit", "inherit"],
    detached: true,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM"); // paygraph dev stops its worker, MongoDB-wire server and Redis
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, 15_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(home, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, 90_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PAYGRAPH_PORT ?? process.env.PORT ?? 0) || undefined;
  const origins = (process.env.PAYGRAPH_ALLOW_ORIGINS ?? "").split(",").filter(Boolean);
  const running = await startPaygraph({ port, origins });
  console.log(`paygraph ready on ${running.url}`);
  const shutdown = () => void running.stop().then(() => process.exit(0));
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

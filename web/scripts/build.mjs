// The package: ESM and type declarations from tsc into dist/, plus dist/styles.css.
import { execFileSync } from "node:child_process";
import { copyFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
await rm(join(root, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
await copyFile(join(root, "src/styles.css"), join(root, "dist/styles.css"));
console.log("built dist/ (ESM + .d.ts) and dist/styles.css");

// What @paygraph/react adds to a shop's bundle: dist/index.js with its dependencies (urql,
// graphql-ws, ...) bundled and minified by esbuild, React excluded, then gzipped; and the CSS.
import { build } from "esbuild";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const result = await build({
  entryPoints: [join(root, "dist/index.js")],
  bundle: true,
  minify: true,
  format: "esm",
  platform: "browser",
  target: "es2021",
  write: false,
  external: ["react", "react-dom", "react/jsx-runtime"],
  metafile: true,
  define: { "process.env.NODE_ENV": '"production"' },
});
const js = result.outputFiles[0].contents;
const css = await readFile(join(root, "dist/styles.css"));
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const inputs = Object.entries(result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].inputs);
const byPackage = new Map();
for (const [path, { bytesInOutput }] of inputs) {
  const match = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  const name = match ? match[1] : "@paygraph/react (own code)";
  byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
}
console.log(`index.js, minified: ${kib(js.length)}; minified + gzipped: ${kib(gzipSync(js, { level: 9 }).length)} (React excluded)`);
console.log(`styles.css: ${kib(css.length)}; gzipped: ${kib(gzipSync(css, { level: 9 }).length)}`);
for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1])) console.log(`  ${name.padEnd(32)} ${kib(bytes)} minified`);

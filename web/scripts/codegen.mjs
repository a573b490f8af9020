// Generates the typed documents (src/gql/) from ../schema.graphql and the operations in src/,
// plus the persisted-documents manifest (persisted-documents.json: sha256 hex -> document).
// `--check` generates into a temporary directory and fails when anything differs from what is
// committed, so a schema change that breaks the client is caught by the tests.
import { generate } from "@graphql-codegen/cli";
import { addTypenameSelectionDocumentTransform } from "@graphql-codegen/client-preset";
import { mkdtemp, readFile, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const committed = { gql: join(root, "src/gql"), manifest: join(root, "persisted-documents.json") };
const check = process.argv.includes("--check");

async function run(outDir, manifest) {
  await generate(
    {
      cwd: root,
      schema: "../schema.graphql",
      documents: ["src/operations.graphql"],
      ignoreNoDocuments: false,
      silent: true,
      generates: {
        [`${outDir}/`]: {
          preset: "client",
          presetConfig: {
            fragmentMasking: false,
            // Keep the document and embed its hash: full documents are sent by default; the
            // manifest lets the server accept {"documentId": "sha256:<hex>"} instead.
            persistedDocuments: { mode: "embedHashInDocument", hashAlgorithm: "sha256" },
          },
          // The hashed text must be what is sent: urql adds __typename, so the documents do too.
          documentTransforms: [addTypenameSelectionDocumentTransform],
          config: {
            useTypeImports: true,
            enumsAsTypes: true,
            emitLegacyCommonJSImports: false,
            scalars: { DateTime: "string", JSON: "unknown" },
          },
        },
      },
    },
    true,
  );
  await rename(join(outDir, "persisted-documents.json"), manifest);
}

async function files(dir) {
  return (await readdir(dir)).filter((name) => name !== "persisted-documents.json").sort();
}

if (!check) {
  await run(committed.gql, committed.manifest);
  console.log(`generated ${relative(root, committed.gql)}/ and ${relative(root, committed.manifest)}`);
} else {
  const temp = await mkdtemp(join(tmpdir(), "paygraph-codegen-"));
  const outDir = join(temp, "gql");
  try {
    const manifest = join(temp, "persisted-documents.json");
    await run(outDir, manifest);
    const pairs = [[committed.manifest, manifest]];
    const [want, have] = [await files(outDir), await files(committed.gql)];
    const extra = [...new Set([...want, ...have])].filter((n) => !want.includes(n) || !have.includes(n));
    for (const name of want) pairs.push([join(committed.gql, name), join(outDir, name)]);
    const stale = [];
    for (const [mine, fresh] of pairs) {
      const current = await readFile(mine, "utf8").catch(() => null);
      if (current !== (await readFile(fresh, "utf8"))) stale.push(relative(root, mine));
    }
    stale.push(...extra.map((name) => `src/gql/${name} (${want.includes(name) ? "missing" : "not generated"})`));
    if (stale.length) {
      console.error(`codegen drift: ${stale.join(", ")} differ from ../schema.graphql; run \`npm run codegen\` and commit.`);
      process.exitCode = 1;
    } else {
      console.log("codegen: src/gql/ and persisted-documents.json match ../schema.graphql");
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

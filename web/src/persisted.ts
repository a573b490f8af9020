// Documents named by hash: each generated document carries its manifest hash
// (`__meta__.hash`, "sha256:<hex>", from the client preset's persistedDocuments), and in "hash"
// mode the request sends `{"documentId": hash, "variables"}` instead of the text (urql's fetch
// body sends `documentId` for a document without definitions; the WebSocket sends it too, see
// client.ts). A server without the document answers PERSISTED_QUERY_NOT_FOUND: the operation is
// then sent once more with its text, and that document goes as text from then on, unless the
// server has answered TRUSTED_DOCUMENTS_ONLY (it runs nothing but its manifest: text is never
// resent, and the miss is what the caller sees).
import { makeOperation, type CombinedError, type Exchange, type Operation, type OperationResult } from "@urql/core";
import type { DocumentNode } from "graphql";
import { filter, makeSubject, map, merge, pipe } from "wonka";

/** "hash": name each document by its sha256 (what a server with TRUSTED_DOCUMENTS_ONLY runs);
 * "text": send the document text, as a server without the manifest needs. */
export type DocumentsMode = "hash" | "text";

export const PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND";
export const TRUSTED_DOCUMENTS_ONLY = "TRUSTED_DOCUMENTS_ONLY";

interface Sent {
  /** The operation as the hooks made it (its document has the text). */
  original: Operation;
  /** Sent by hash (the first try) or as text after a miss (the one retry). */
  by: "hash" | "text";
  /** The retry's cause, answered instead when the server refuses the text. */
  miss?: OperationResult;
}

const SENT = "paygraphSent";

/** The manifest hash a generated document carries, if any. */
export function documentHash(document: DocumentNode): string | null {
  const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
  return typeof hash === "string" && hash.startsWith("sha256:") ? hash : null;
}

function hasCode(error: CombinedError | undefined, code: string): boolean {
  return Boolean(error?.graphQLErrors.some((e) => e.extensions?.code === code || (code === PERSISTED_QUERY_NOT_FOUND && e.message === "PersistedQueryNotFound")));
}

const sentOf = (operation: Operation) => (operation.context as Record<string, unknown>)[SENT] as Sent | undefined;

function withSent(operation: Operation, query: DocumentNode, sent: Sent): Operation {
  return makeOperation(operation.kind, { ...operation, query }, { ...operation.context, [SENT]: sent });
}

/** The urql exchange (before fetchExchange and subscriptionExchange) that names documents. */
export function documentsExchange(mode: DocumentsMode): Exchange {
  return ({ forward }) => {
    if (mode === "text") return (operations$) => forward(operations$);
    const missed = new Set<string>(); // documents this server did not know: sent as text
    let textRefused = false; // the server runs only trusted documents
    const awaiting = new Set<number>(); // operations sent by hash, not answered nor torn down
    return (operations$) => {
      const retries = makeSubject<Operation>();
      const named = pipe(
        operations$,
        map((operation) => {
          if (operation.kind === "teardown") awaiting.delete(operation.key);
          const hash = operation.kind === "teardown" ? null : documentHash(operation.query);
          if (!hash || (missed.has(hash) && !textRefused)) return operation;
          const byHash = { kind: "Document", definitions: [], documentId: hash } as unknown as DocumentNode;
          awaiting.add(operation.key);
          return withSent(operation, byHash, { original: operation, by: "hash" });
        }),
      );
      return pipe(
        forward(merge([named, retries.source])),
        filter((result) => {
          const sent = sentOf(result.operation);
          if (sent?.by !== "hash") return true;
          // Only an operation still wanted is sent again (a subscription would stay open).
          const wanted = awaiting.delete(result.operation.key);
          if (!wanted || textRefused || !hasCode(result.error, PERSISTED_QUERY_NOT_FOUND)) return true;
          const hash = documentHash(sent.original.query)!;
          missed.add(hash);
          retries.next(withSent(sent.original, sent.original.query, { original: sent.original, by: "text", miss: result }));
          return false;
        }),
        map((result): OperationResult => {
          const sent = sentOf(result.operation);
          if (!sent) return result;
          if (sent.by === "text" && sent.miss && hasCode(result.error, TRUSTED_DOCUMENTS_ONLY)) {
            textRefused = true;
            return { ...sent.miss, operation: sent.original };
          }
          return { ...result, operation: sent.original };
        }),
      );
    };
  };
}

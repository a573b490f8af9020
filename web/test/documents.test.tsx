// How the package names its documents: by the manifest's sha256 (`documentId`) over HTTP and
// the WebSocket, or as text; and what it does when a server does not know a document. The
// request-shape tests answer through the provider's `fetch` (no server); the last one talks to
// the live API of test/global-setup.ts, which has no manifest.
import { Client, makeResult, type Exchange, type Operation, type OperationResult } from "@urql/core";
import { stringifyMessage, MessageType } from "graphql-ws";
import { afterEach, describe, expect, test, vi } from "vitest";
import { renderHook } from "vitest-browser-react";
import manifest from "../persisted-documents.json";
import { dropEmptyQuery } from "../src/client.js";
import { InitiatePaymentDocument, PaymentStatusDocument } from "../src/documents.js";
import { PaygraphProvider, useInitiatePayment, usePaymentStatus, useVerifyPayment, type DocumentsMode } from "../src/index.js";
import { documentHash, documentsExchange } from "../src/persisted.js";
import { filter, makeSubject, merge, onPush, pipe, subscribe, type Source } from "wonka";
import { newCustomer, newOrderId, payByCard, withProvider } from "./support.js";

type Body = { query?: string; documentId?: string; variables?: Record<string, unknown>; extensions?: unknown };

const REFUSED = {
  PERSISTED_QUERY_NOT_FOUND: "PersistedQueryNotFound",
  TRUSTED_DOCUMENTS_ONLY: "This API runs trusted documents only: name the document by its hash.",
};

/** A stand-in for the API's HTTP answers: `answer(body)` is a JSON body or an error code
 * (answered 400, as paygraph does); every request body is kept. */
function fakeApi(answer: (body: Body) => unknown) {
  const bodies: Body[] = [];
  const fetch = vi.fn(async (_input: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as Body;
    bodies.push(body);
    const reply = answer(body);
    if (typeof reply === "string") {
      const error = { message: REFUSED[reply as keyof typeof REFUSED], extensions: { code: reply } };
      return Response.json({ data: null, errors: [error] }, { status: 400 });
    }
    return Response.json(reply);
  });
  return { fetch, bodies };
}

const refusedOrder = { data: { initiatePayment: { __typename: "ValidationError", code: "VALIDATION_ERROR", message: "no", field: "amount" } } };
const input = { orderId: "DOC-1", amount: "10.00", currency: "INR" };

async function initiateWith(fetch: typeof globalThis.fetch, documents?: DocumentsMode) {
  const { result } = await renderHook(() => useInitiatePayment(), {
    wrapper: ({ children }) => (
      <PaygraphProvider url="https://pay.example.test/graphql" getToken={() => "t"} documents={documents} fetch={fetch}>
        {children}
      </PaygraphProvider>
    ),
  });
  return result.current.initiate;
}

describe("documents", () => {
  test("every generated document carries the manifest's hash of its text", () => {
    const hash = documentHash(InitiatePaymentDocument)!;
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Object.keys(manifest)).toContain(hash);
    expect(Object.keys(manifest)).toContain(documentHash(PaymentStatusDocument));
  });

  test("by default a request names its document by hash and sends no text", async () => {
    const api = fakeApi(() => refusedOrder);
    const initiate = await initiateWith(api.fetch);
    expect(await initiate(input)).toMatchObject({ ok: false, error: { code: "VALIDATION_ERROR" } });
    expect(api.bodies).toEqual([{ documentId: documentHash(InitiatePaymentDocument), variables: { input } }]);
  });

  test('documents="text" sends the text and no hash', async () => {
    const api = fakeApi(() => refusedOrder);
    const initiate = await initiateWith(api.fetch, "text");
    await initiate(input);
    expect(api.bodies).toHaveLength(1);
    expect(api.bodies[0]!.documentId).toBeUndefined();
    expect(api.bodies[0]!.query).toMatch(/^mutation InitiatePayment\b/);
  });

  test("a server without the document gets its text once, and the text from then on", async () => {
    const api = fakeApi((body) => (body.documentId ? "PERSISTED_QUERY_NOT_FOUND" : refusedOrder));
    const initiate = await initiateWith(api.fetch);
    expect(await initiate(input)).toMatchObject({ ok: false, error: { code: "VALIDATION_ERROR" } });
    expect(api.bodies.map((b) => [Boolean(b.documentId), Boolean(b.query)])).toEqual([[true, false], [false, true]]);
    expect(api.bodies[1]!.variables).toEqual({ input });
    await initiate(input);
    expect(api.bodies).toHaveLength(3);
    expect(api.bodies[2]!.query).toMatch(/^mutation InitiatePayment\b/);
  });

  test("a server running trusted documents only is never sent text again, and the miss is reported", async () => {
    const api = fakeApi((body) => (body.documentId ? "PERSISTED_QUERY_NOT_FOUND" : "TRUSTED_DOCUMENTS_ONLY"));
    const initiate = await initiateWith(api.fetch);
    const missed = await initiate(input);
    expect(missed).toMatchObject({ ok: false, error: { kind: "network", code: "PERSISTED_QUERY_NOT_FOUND", retryable: false } });
    expect(api.bodies).toHaveLength(2);
    expect(await initiate(input)).toMatchObject({ ok: false, error: { code: "PERSISTED_QUERY_NOT_FOUND" } });
    expect(api.bodies).toHaveLength(3);
    expect(api.bodies[2]!.documentId).toBe(documentHash(InitiatePaymentDocument));
    expect(api.bodies[2]!.query).toBeUndefined();
  });

  test("a subscription given up before its miss is answered is not sent again", () => {
    // A stand-in for the transport: keeps what it is sent, answers what the test pushes.
    function setup() {
      const forwarded: Operation[] = [];
      const answers = makeSubject<OperationResult>();
      const server: Exchange = () => (operations$) => {
        const swallowed = pipe(operations$, onPush((operation) => forwarded.push(operation)), filter(() => false));
        return merge([swallowed as unknown as Source<OperationResult>, answers.source]);
      };
      const client = new Client({ url: "https://pay.example.test/graphql", exchanges: [documentsExchange("hash"), server] });
      return { client, forwarded, answers };
    }
    const miss = (operation: Operation) => makeResult(operation, { errors: [{ message: "PersistedQueryNotFound", extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } }] });
    const byHash = (operation: Operation) => "documentId" in operation.query;

    const kept = setup();
    const watching = pipe(kept.client.subscription(PaymentStatusDocument, { id: "1" }), subscribe(() => {}));
    kept.answers.next(miss(kept.forwarded[0]!));
    expect(kept.forwarded.map((o) => [o.kind, byHash(o)])).toEqual([
      ["subscription", true],
      ["subscription", false], // the retry, with the text
    ]);
    watching.unsubscribe();

    const dropped = setup();
    pipe(dropped.client.subscription(PaymentStatusDocument, { id: "2" }), subscribe(() => {})).unsubscribe();
    dropped.answers.next(miss(dropped.forwarded[0]!));
    expect(dropped.forwarded.map((o) => [o.kind, byHash(o)])).toEqual([
      ["subscription", true],
      ["teardown", false],
    ]);
  });

  test("a WebSocket subscribe naming its document sends documentId without a query", () => {
    const hash = documentHash(PaymentStatusDocument)!;
    const named = { id: "1", type: MessageType.Subscribe, payload: { query: "", documentId: hash, variables: { id: "7" } } } as const;
    expect(JSON.parse(stringifyMessage(named, dropEmptyQuery))).toEqual({
      id: "1",
      type: "subscribe",
      payload: { documentId: hash, variables: { id: "7" } },
    });
    const text = { id: "2", type: MessageType.Subscribe, payload: { query: "subscription { x }" } } as const;
    expect(JSON.parse(stringifyMessage(text, dropEmptyQuery)).payload).toEqual({ query: "subscription { x }" });
  });
});

describe("documents against a server without the manifest", () => {
  const sent: unknown[] = [];
  const send = WebSocket.prototype.send;
  afterEach(() => {
    WebSocket.prototype.send = send;
    sent.length = 0;
  });

  test("the live status subscribes by hash, then with the text after the miss", async () => {
    WebSocket.prototype.send = function (this: WebSocket, data) {
      sent.push(JSON.parse(String(data)));
      return send.call(this, data);
    };
    const { token } = await newCustomer();
    const paymentId = await payByCard(token);
    const { result } = await renderHook(() => usePaymentStatus(paymentId), { wrapper: withProvider(() => token) });
    await expect.poll(() => result.current.status, { timeout: 15_000 }).toBe("COMPLETED");
    const subscribes = sent.filter((m): m is { payload: Body } => (m as { type?: string }).type === "subscribe").map((m) => m.payload);
    expect(subscribes[0]).toMatchObject({ documentId: documentHash(PaymentStatusDocument), variables: { id: paymentId } });
    expect(subscribes[0]).not.toHaveProperty("query");
    expect(subscribes.some((p) => typeof p.query === "string" && p.query.includes("paymentStatusChanged"))).toBe(true);
  });

  test("mutations still work (by text after one miss)", async () => {
    const { token } = await newCustomer();
    const { result } = await renderHook(() => ({ initiate: useInitiatePayment().initiate, verify: useVerifyPayment().verify }), {
      wrapper: withProvider(() => token),
    });
    const started = await result.current.initiate({ orderId: newOrderId(), amount: "12.00", currency: "INR" });
    expect(started.ok).toBe(true);
  });
});

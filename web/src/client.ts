// The urql client behind PaygraphProvider: queries and mutations over HTTP (a fresh token per
// request), subscriptions over graphql-transport-ws (a fresh token per connection). Neither
// urql nor graphql-ws is part of the package's API.
import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { documentsExchange, type DocumentsMode } from "./persisted.js";

export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;

export type SocketState = "idle" | "connecting" | "connected" | "closed";

/** The WebSocket's state, for hooks that fall back to polling while it is down. */
export interface SocketStatus {
  get(): SocketState;
  subscribe(listener: () => void): () => void;
}

export interface PaygraphClients {
  client: Client;
  ws: WsClient;
  socket: SocketStatus;
}

export class TokenUnavailable extends Error {
  override name = "TokenUnavailable";
}

export interface ClientOptions {
  url: string;
  wsUrl?: string;
  getToken: () => TokenSource;
  fetch?: typeof fetch;
  /** How documents are sent (see persisted.ts); default "hash". */
  documents?: DocumentsMode;
}

/** graphql-ws insists on a `query` string in every subscribe: a document named by hash is sent
 * with an empty one, which this drops from the message (the server then reads `documentId`). */
export function dropEmptyQuery(this: unknown, key: string, value: unknown): unknown {
  const named = typeof this === "object" && this !== null && typeof (this as { documentId?: unknown }).documentId === "string";
  return key === "query" && value === "" && named ? undefined : value;
}

function socketStatus(): SocketStatus & { set(state: SocketState): void } {
  let state: SocketState = "idle";
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    set(next) {
      if (next === state) return;
      state = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

async function bearer(getToken: () => TokenSource): Promise<string | null> {
  try {
    return (await getToken()()) ?? null;
  } catch (cause) {
    throw new TokenUnavailable(cause instanceof Error ? cause.message : "no token", { cause });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createClients(options: ClientOptions): PaygraphClients {
  // Relative URLs resolve against the page only when first used: nothing here touches `window`
  // at import or render time, so server rendering works.
  const apiUrl = () => new URL(options.url, globalThis.location?.href);
  const wsUrl = () => {
    if (options.wsUrl) return new URL(options.wsUrl, globalThis.location?.href).href;
    const url = apiUrl();
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  };
  const socket = socketStatus();
  const ws = createWsClient({
    url: wsUrl,
    lazy: true,
    connectionParams: async () => {
      const token = await bearer(options.getToken);
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
    // Keep trying while a payment is watched (hooks poll meanwhile); the server sends the
    // current state again on every subscribe, so nothing is missed across a reconnect.
    jsonMessageReplacer: dropEmptyQuery,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait: async (retries) => sleep(Math.min(500 * 2 ** retries, 10_000) + Math.random() * 300),
    on: {
      connecting: () => socket.set("connecting"),
      connected: () => socket.set("connected"),
      closed: () => socket.set("closed"),
    },
  });
  const fetchWithToken: typeof fetch = async (input, init) => {
    const token = await bearer(options.getToken);
    const headers = new Headers(init?.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return (options.fetch ?? globalThis.fetch)(input, { ...init, headers });
  };
  const client = new Client({
    url: options.url,
    fetch: fetchWithToken,
    preferGetMethod: false,
    requestPolicy: "network-only",
    exchanges: [
      documentsExchange(options.documents ?? "hash"),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              return { unsubscribe: ws.subscribe(input, sink) };
            },
          };
        },
      }),
    ],
  });
  return { client, ws, socket };
}

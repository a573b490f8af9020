import { createContext, useContext, useMemo, useRef, useState, type ReactNode } from "react";
import { Provider as UrqlProvider } from "urql";
import { createClients, type PaygraphClients, type TokenSource } from "./client.js";
import type { DocumentsMode } from "./persisted.js";

export interface PaygraphProviderProps {
  /** The API's GraphQL endpoint, e.g. "https://pay.example.com/graphql" (or "/graphql"). */
  url: string;
  /** graphql-transport-ws endpoint; default: `url` with ws:// or wss://. */
  wsUrl?: string;
  /** The signed-in customer's bearer token, minted by the shop's backend. Called for every
   * request and every WebSocket connection, so a refreshed token is picked up at once. */
  getToken: TokenSource;
  /** Shown in the gateway's checkout (Razorpay's `name`). */
  merchantName?: string;
  /** How operations name their GraphQL documents. "hash" (default): by their sha256 in
   * persisted-documents.json (`documentId`), which a server with TRUSTED_DOCUMENTS_ONLY=true
   * requires; a server without the document answers PERSISTED_QUERY_NOT_FOUND and the package
   * sends the text once instead (then always, for that document), unless the server runs
   * trusted documents only. "text": always the document text. */
  documents?: DocumentsMode;
  /** For tests or instrumentation. */
  fetch?: typeof fetch;
  children?: ReactNode;
}

export interface PaygraphContextValue extends PaygraphClients {
  merchantName: string | undefined;
}

const PaygraphContext = createContext<PaygraphContextValue | null>(null);

/** Connects the hooks and components below it to a paygraph API. */
export function PaygraphProvider({ url, wsUrl, getToken, merchantName, documents = "hash", fetch, children }: PaygraphProviderProps) {
  // The latest getToken is read at call time: an inline arrow does not rebuild the client.
  const tokenRef = useRef(getToken);
  tokenRef.current = getToken;
  const [clients, setClients] = useState(() => ({
    key: `${url} ${wsUrl ?? ""} ${documents}`,
    value: createClients({ url, wsUrl, getToken: () => tokenRef.current, fetch, documents }),
  }));
  const key = `${url} ${wsUrl ?? ""} ${documents}`;
  let current = clients;
  if (clients.key !== key) {
    current = { key, value: createClients({ url, wsUrl, getToken: () => tokenRef.current, fetch, documents }) };
    setClients(current);
  }
  // No dispose on unmount: the socket is lazy (closed once nothing is subscribed), and
  // StrictMode's rehearsed unmount must not leave a disposed client behind.
  const clientsValue = current.value;
  const value = useMemo<PaygraphContextValue>(() => ({ ...clientsValue, merchantName }), [clientsValue, merchantName]);
  return (
    <PaygraphContext.Provider value={value}>
      <UrqlProvider value={clientsValue.client}>{children}</UrqlProvider>
    </PaygraphContext.Provider>
  );
}

export function usePaygraph(): PaygraphContextValue {
  const value = useContext(PaygraphContext);
  if (value === null) throw new Error("paygraph hooks and components need a <PaygraphProvider> above them");
  return value;
}

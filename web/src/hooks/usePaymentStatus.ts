import { useEffect, useState, useSyncExternalStore } from "react";
import { onEnd, pipe, subscribe } from "wonka";
import { PaymentDocument, PaymentStatusDocument } from "../documents.js";
import { fromCombinedError, type PaygraphError } from "../errors.js";
import { usePaygraph } from "../provider.js";
import { FINAL_STATUSES, type Payment, type PaymentStatus } from "../types.js";
import { runQuery } from "./operations.js";

/** live: paymentStatusChanged over the WebSocket; polling: payment(id) while the socket is
 * down; connecting: neither has answered yet; idle: nothing to watch (no id, or final). */
export type StatusConnection = "live" | "polling" | "connecting" | "idle";

export interface PaymentStatusState {
  payment: Payment | null;
  status: PaymentStatus | null;
  /** The outcome is settled: completed (or refunded), cancelled, expired, or failed for good. */
  isFinal: boolean;
  error: PaygraphError | null;
  connection: StatusConnection;
}

interface Watched {
  id: string | null;
  payment: Payment | null;
  error: PaygraphError | null;
  /** The server ended the subscription: no more changes will come. */
  ended: boolean;
  subscriptionFailed: boolean;
}

const blank = (id: string | null): Watched => ({ id, payment: null, error: null, ended: false, subscriptionFailed: false });

/** Newer wins: events can arrive out of order from the socket, the poll and the mutations. */
function newer(current: Payment | null, next: Payment): boolean {
  return !current || current.id !== next.id || Date.parse(next.updatedAt) >= Date.parse(current.updatedAt);
}

/** A payment's live status: paymentStatusChanged over graphql-transport-ws (the current state
 * first, then each change), falling back to polling payment(id) while the socket is down. */
export function usePaymentStatus(
  paymentId: string | null | undefined,
  options: { pollIntervalMs?: number; graceMs?: number } = {},
): PaymentStatusState {
  const { client, socket } = usePaygraph();
  const id = paymentId ?? null;
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const graceMs = options.graceMs ?? 1500;
  const [watched, setWatched] = useState<Watched>(() => blank(id));
  const current = watched.id === id ? watched : blank(id);
  if (watched.id !== id) setWatched(current);
  const socketState = useSyncExternalStore(socket.subscribe, socket.get, socket.get);
  const [graceOver, setGraceOver] = useState(false);

  const accept = (payment: Payment) =>
    setWatched((w) => (w.id === payment.id && newer(w.payment, payment) ? { ...w, payment, error: null } : w));

  useEffect(() => {
    if (!id) return undefined;
    setGraceOver(false);
    const timer = setTimeout(() => setGraceOver(true), graceMs);
    let closing = false; // onEnd also runs when we unsubscribe: only the server's end counts
    const { unsubscribe } = pipe(
      client.subscription(PaymentStatusDocument, { id }),
      onEnd(() => {
        if (!closing) setWatched((w) => (w.id === id && !w.subscriptionFailed ? { ...w, ended: true } : w));
      }),
      subscribe((result) => {
        if (result.error) {
          const error = fromCombinedError(result.error);
          setWatched((w) => (w.id === id ? { ...w, error, subscriptionFailed: true } : w));
        } else if (result.data) {
          accept(result.data.paymentStatusChanged);
        }
      }),
    );
    return () => {
      closing = true;
      clearTimeout(timer);
      unsubscribe();
    };
  }, [client, id, graceMs]);

  const live = socketState === "connected" && !current.subscriptionFailed;
  const final = current.ended || (current.payment !== null && FINAL_STATUSES.has(current.payment.status));
  const polling = Boolean(id) && !live && !final && (graceOver || current.subscriptionFailed);

  useEffect(() => {
    if (!polling || !id) return undefined;
    let stopped = false;
    const poll = async () => {
      const outcome = await runQuery(client, PaymentDocument, { id });
      if (stopped) return;
      if (outcome.ok) accept(outcome.value.payment);
      else setWatched((w) => (w.id === id ? { ...w, error: outcome.error } : w));
    };
    void poll();
    const timer = setInterval(poll, pollIntervalMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [client, id, polling, pollIntervalMs]);

  const connection: StatusConnection = !id || final ? "idle" : live ? "live" : polling ? "polling" : "connecting";
  return {
    payment: current.payment,
    status: current.payment?.status ?? null,
    isFinal: final,
    error: current.error,
    connection,
  };
}

// A tiny GraphQL client: queries and mutations over HTTP, subscriptions over
// graphql-transport-ws (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
// Copy it, or use graphql-ws / Apollo / urql in a real app: the wire format is the same.

export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class GraphQLClient {
  constructor({ url = "/graphql", token }) {
    this.url = url;
    this.token = token; // () => Promise<string>
  }

  async request(query, variables = {}) {
    const token = await this.token();
    let response;
    try {
      response = await fetch(this.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch {
      throw new ApiError("NETWORK", "The API cannot be reached. Is `make run` still running?");
    }
    const body = await response.json().catch(() => null);
    if (body === null) {
      throw new ApiError(`HTTP_${response.status}`, `The API answered ${response.status}.`);
    }
    if (body.errors?.length) {
      const [first] = body.errors;
      throw new ApiError(first.extensions?.code ?? "GRAPHQL_ERROR", first.message);
    }
    return body.data;
  }
}

// One WebSocket for every subscription. The token goes in connection_init's payload, because
// browsers cannot set headers on a WebSocket. On an unexpected close it reconnects and
// subscribes again (the API sends the current state first, so nothing is missed).
export class SubscriptionClient {
  constructor({ url, token, onState = () => {} }) {
    this.url = url;
    this.token = token;
    this.onState = onState;
    this.socket = null;
    this.ready = null;
    this.active = new Map(); // id -> { payload, sink }
    this.nextId = 1;
    this.retries = 0;
  }

  subscribe(query, variables, sink) {
    const id = String(this.nextId++);
    const entry = { payload: { query, variables }, sink };
    this.active.set(id, entry);
    this.#connect().then(
      () => this.#send({ id, type: "subscribe", payload: entry.payload }),
      (error) => this.#fail(id, error),
    );
    return () => {
      if (this.active.delete(id) && this.socket?.readyState === WebSocket.OPEN) {
        this.#send({ id, type: "complete" });
      }
      if (this.active.size === 0) this.close();
    };
  }

  close() {
    const socket = this.socket;
    this.socket = null;
    this.ready = null;
    this.active.clear();
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "done");
    this.onState("idle");
  }

  #connect() {
    if (this.ready) return this.ready;
    this.onState("connecting");
    this.ready = new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, "graphql-transport-ws");
      this.socket = socket;
      let acknowledged = false;
      socket.onopen = async () => {
        const token = await this.token();
        socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
      };
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        switch (message.type) {
          case "connection_ack":
            acknowledged = true;
            this.retries = 0;
            this.onState("live");
            resolve();
            break;
          case "ping":
            socket.send(JSON.stringify({ type: "pong" }));
            break;
          case "next":
            this.#deliver(message.id, message.payload);
            break;
          case "error":
            this.#fail(message.id, new ApiError(message.payload?.[0]?.extensions?.code ?? "GRAPHQL_ERROR", message.payload?.[0]?.message ?? "Subscription error"));
            break;
          case "complete": {
            const entry = this.active.get(message.id);
            this.active.delete(message.id);
            entry?.sink.complete?.();
            break;
          }
        }
      };
      socket.onclose = (event) => {
        if (this.socket !== socket) return; // closed on purpose
        this.socket = null;
        this.ready = null;
        if (!acknowledged) {
          reject(new ApiError(event.code === 4401 ? "UNAUTHENTICATED" : "NETWORK", event.reason || "Live updates are unavailable."));
        }
        if (acknowledged && this.active.size > 0 && this.retries < 5) {
          this.onState("reconnecting");
          this.retries += 1;
          setTimeout(() => this.#resubscribe(), 500 * this.retries);
        } else {
          this.onState(this.active.size ? "down" : "idle");
        }
      };
    });
    return this.ready;
  }

  #resubscribe() {
    this.#connect().then(
      () => {
        for (const [id, entry] of this.active) this.#send({ id, type: "subscribe", payload: entry.payload });
      },
      () => this.onState("down"),
    );
  }

  #send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  #deliver(id, payload) {
    const entry = this.active.get(id);
    if (!entry) return;
    if (payload.errors?.length) {
      const [first] = payload.errors;
      entry.sink.error?.(new ApiError(first.extensions?.code ?? "GRAPHQL_ERROR", first.message));
    } else {
      entry.sink.next(payload.data);
    }
  }

  #fail(id, error) {
    const entry = this.active.get(id);
    this.active.delete(id);
    entry?.sink.error?.(error);
  }
}

// The admin's view of events out: what paygraph pushed to the shop's webhook endpoints
// (outboundEvents), the endpoints (webhookEndpoints), one endpoint's deliveries
// (webhookDeliveries) and redeliverEvent. The API has no subscription for these, so the open
// panel asks again every few seconds; only changes are announced.

import { busy, h } from "./dom.js";

const EVENT = `id type timestamp resourceId`;
const DELIVERY = `id eventId eventType status attempts lastResponseCode lastError lastAttemptAt deliveredAt createdAt`;
const PAGE = 20;
const POLL_MS = 3000;

const EVENTS = `
query OutboundEvents($first: Int!, $after: String) {
  outboundEvents(first: $first, after: $after) { edges { node { ${EVENT} } } pageInfo { hasNextPage endCursor } }
}`;

const ENDPOINTS = `query { webhookEndpoints { id url description enabled disabledReason failingSince } }`;

const DELIVERIES = `
query Deliveries($endpointId: ID!, $first: Int!, $after: String) {
  webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {
    edges { node { ${DELIVERY} } } pageInfo { hasNextPage endCursor }
  }
}`;

const REDELIVER = `
mutation Redeliver($eventId: ID!, $endpointId: ID!) {
  redeliverEvent(eventId: $eventId, endpointId: $endpointId) {
    __typename ... on RedeliverEventSuccess { delivery { ${DELIVERY} } } ... on UserError { code message }
  }
}`;

const time = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function endpointStatus(endpoint) {
  if (!endpoint.enabled) return ["DISABLED", `disabled${endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ""}`];
  if (endpoint.failingSince) return ["FAILING", `failing since ${time(endpoint.failingSince)}`];
  return ["ENABLED", "enabled"];
}

// A list newest first that grows at both ends: a refresh puts what is new on top (and updates
// what it knows), "Load more" appends the next page.
class Feed {
  constructor() {
    this.items = new Map();
    this.cursor = null;
    this.more = false;
    this.loaded = false;
  }

  merge(nodes, { top }) {
    const fresh = nodes.filter((node) => !this.items.has(node.id));
    const changed = nodes.filter((node) => this.items.has(node.id) && JSON.stringify(this.items.get(node.id)) !== JSON.stringify(node));
    for (const node of changed) this.items.set(node.id, node);
    if (top && this.items.size) {
      this.items = new Map([...fresh.map((node) => [node.id, node]), ...this.items]);
    } else {
      for (const node of fresh) this.items.set(node.id, node);
    }
    return { fresh, changed };
  }

  page(connection, { top }) {
    const nodes = connection.edges.map((edge) => edge.node);
    const gap = top && connection.pageInfo.hasNextPage && nodes.every((node) => !this.items.has(node.id));
    if (gap) this.items.clear(); // more is new than a page holds: start again from the top
    this.loaded = true;
    if (!top || this.cursor === null || gap) {
      this.cursor = connection.pageInfo.endCursor;
      this.more = connection.pageInfo.hasNextPage;
    }
    return this.merge(nodes, { top });
  }
}

export class AdminEvents {
  constructor(api, root) {
    this.api = api;
    this.root = root;
    this.$ = (id) => root.querySelector(`#${id}`);
    this.events = new Feed();
    this.deliveries = new Feed();
    this.endpoints = [];
    this.endpointId = null;
    this.timer = null;
    this.running = null;
    this.$("events-refresh").addEventListener("click", () => this.refresh({ announce: true }));
    this.$("outbound-more").addEventListener("click", (e) => this.loadMore(e.target, "events"));
    this.$("deliveries-more").addEventListener("click", (e) => this.loadMore(e.target, "deliveries"));
    document.addEventListener("visibilitychange", () => this.#schedule());
  }

  // Shown for admins only; hidden, it stops asking.
  show(visible) {
    this.root.hidden = !visible;
    if (visible) {
      this.render();
      this.refresh();
    }
    this.#schedule();
  }

  #schedule() {
    clearInterval(this.timer);
    this.timer = null;
    if (!this.root.hidden && !document.hidden) this.timer = setInterval(() => this.refresh(), POLL_MS);
  }

  say(text) {
    this.$("events-status").textContent = text;
  }

  // One refresh at a time; a click during a poll waits for it.
  refresh({ announce = false } = {}) {
    this.running ??= this.#refresh(announce).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async #refresh(announce) {
    try {
      const [{ outboundEvents }, { webhookEndpoints }] = await Promise.all([
        this.api.request(EVENTS, { first: PAGE }),
        this.api.request(ENDPOINTS),
      ]);
      const wasLoaded = this.events.loaded;
      const { fresh, changed } = this.events.page(outboundEvents, { top: true });
      const endpointsChanged = this.#setEndpoints(webhookEndpoints);
      const deliveries = await this.#refreshDeliveries();
      // Only a change re-renders, so a poll does not take the keyboard focus away.
      if (fresh.length || changed.length || endpointsChanged || deliveries.dirty) this.render();
      const news = [];
      if (fresh.length && wasLoaded) news.push(`${fresh.length} new event${fresh.length > 1 ? "s" : ""}`);
      news.push(...deliveries.news.map((d) => this.#describe(d)));
      if (news.length) this.say(news.join(". "));
      else if (announce) this.say(`Up to date at ${new Date().toLocaleTimeString()}.`);
    } catch (error) {
      this.say(`Events could not be loaded: ${error.message}`);
    }
  }

  #setEndpoints(endpoints) {
    const changed = JSON.stringify(endpoints) !== JSON.stringify(this.endpoints);
    this.endpoints = endpoints;
    if (!endpoints.some((e) => e.id === this.endpointId)) {
      this.endpointId = (endpoints.find((e) => e.enabled) ?? endpoints[0])?.id ?? null;
      this.deliveries = new Feed();
    }
    return changed;
  }

  async #refreshDeliveries() {
    if (!this.endpointId) return { news: [], dirty: false };
    const first = !this.deliveries.loaded;
    const { webhookDeliveries } = await this.api.request(DELIVERIES, { endpointId: this.endpointId, first: PAGE });
    const { fresh, changed } = this.deliveries.page(webhookDeliveries, { top: true });
    if (first) return { news: [], dirty: true };
    return { news: [...changed, ...fresh], dirty: changed.length + fresh.length > 0 };
  }

  #describe(delivery) {
    const answer = delivery.lastResponseCode ? `answered ${delivery.lastResponseCode}` : delivery.lastError ?? "no answer yet";
    return `${delivery.eventType} ${delivery.eventId}: ${delivery.status}, attempt ${delivery.attempts}, ${answer}`;
  }

  async loadMore(button, which) {
    const feed = this[which];
    busy(button, "Loading…");
    try {
      const data =
        which === "events"
          ? (await this.api.request(EVENTS, { first: PAGE, after: feed.cursor })).outboundEvents
          : (await this.api.request(DELIVERIES, { endpointId: this.endpointId, first: PAGE, after: feed.cursor })).webhookDeliveries;
      const { fresh } = feed.page(data, { top: false });
      this.render();
      this.say(`${fresh.length} more ${which === "events" ? "events" : "deliveries"} loaded.`);
    } catch (error) {
      this.say(`More could not be loaded: ${error.message}`);
    }
    busy(button, null);
  }

  async chooseEndpoint(endpointId) {
    this.endpointId = endpointId;
    this.deliveries = new Feed();
    this.render();
    await this.refresh();
  }

  async redeliver(event, button) {
    const endpoint = this.endpoints.find((e) => e.id === this.endpointId);
    busy(button, "Redelivering…");
    try {
      const result = (await this.api.request(REDELIVER, { eventId: event.id, endpointId: endpoint.id })).redeliverEvent;
      if (result.__typename === "RedeliverEventSuccess") {
        this.deliveries.merge([result.delivery], { top: true });
        this.render();
        this.say(`${event.type} ${event.id} is being sent to ${endpoint.url} again.`);
      } else {
        this.say(`Not redelivered: ${result.message}`);
      }
    } catch (error) {
      this.say(`Not redelivered: ${error.message}`);
    }
    busy(button, null);
  }

  // Rows are built afresh; the control that had the focus gets it back (data-focus).
  render() {
    const focused = this.root.contains(document.activeElement) ? document.activeElement.dataset.focus : undefined;
    this.#renderEndpoints();
    this.#renderEvents();
    this.#renderDeliveries();
    if (focused) this.root.querySelector(`[data-focus="${CSS.escape(focused)}"]`)?.focus();
  }

  #renderEndpoints() {
    this.$("endpoints-empty").hidden = this.endpoints.length > 0;
    this.$("endpoint-list").replaceChildren(
      ...this.endpoints.map((endpoint) => {
        const [status, text] = endpointStatus(endpoint);
        const id = `endpoint-${endpoint.id}`;
        return h("li", {},
          h("label", { class: "choice", for: id },
            h("input", { type: "radio", name: "endpoint", id, value: endpoint.id, "data-focus": id, checked: endpoint.id === this.endpointId,
              onchange: () => this.chooseEndpoint(endpoint.id) }),
            h("span", {},
              h("code", { text: endpoint.url }), " ",
              h("span", { class: "badge small", "data-status": status, text }),
              endpoint.description ? h("small", { class: "muted", text: ` ${endpoint.description}` }) : null)));
      }),
    );
  }

  #renderEvents() {
    const endpoint = this.endpoints.find((e) => e.id === this.endpointId);
    const events = [...this.events.items.values()];
    this.$("outbound-empty").hidden = events.length > 0;
    this.$("outbound-table").hidden = events.length === 0;
    this.$("outbound-more").hidden = !this.events.more;
    this.$("outbound-list").replaceChildren(
      ...events.map((event) =>
        h("tr", { "data-event-id": event.id },
          h("td", {}, h("code", { text: event.type })),
          h("td", {}, h("code", { text: event.id })),
          h("td", { text: time(event.timestamp) }),
          h("td", {}, `${event.type.split(".")[0]} `, h("code", { text: event.resourceId })),
          h("td", {},
            h("button", {
              type: "button", class: "link", text: "Redeliver", "data-focus": `redeliver-${event.id}`, disabled: !endpoint?.enabled,
              "aria-label": endpoint ? `Redeliver ${event.type} ${event.id} to ${endpoint.url}` : `Redeliver ${event.type} ${event.id}`,
              onclick: (e) => this.redeliver(event, e.target),
            })))),
    );
  }

  #renderDeliveries() {
    const endpoint = this.endpoints.find((e) => e.id === this.endpointId);
    this.$("deliveries").hidden = !endpoint;
    if (!endpoint) return;
    this.$("deliveries-endpoint").textContent = endpoint.url;
    const deliveries = [...this.deliveries.items.values()];
    this.$("deliveries-empty").hidden = deliveries.length > 0;
    this.$("deliveries-table").hidden = deliveries.length === 0;
    this.$("deliveries-more").hidden = !this.deliveries.more;
    this.$("delivery-list").replaceChildren(
      ...deliveries.map((d) =>
        h("tr", { "data-delivery-id": d.id },
          h("td", {}, h("code", { text: d.eventType }), " ", h("small", { class: "muted", text: d.eventId })),
          h("td", {}, h("span", { class: "badge small", "data-status": d.status, text: d.status })),
          h("td", { class: "num", text: String(d.attempts) }),
          h("td", { text: d.lastResponseCode ? String(d.lastResponseCode) : d.lastError ?? "—" }),
          h("td", { text: time(d.lastAttemptAt) }))),
    );
  }
}

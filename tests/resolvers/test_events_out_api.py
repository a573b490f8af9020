"""The admin GraphQL of events out over HTTP: endpoints and their secret, rotation, deliveries,
outbound events and redelivery; customers are refused."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from tests.resolvers.test_payments_api import order_id
from tests.support.checkout import Shopper
from tests.support.receiver import running_receiver
from tests.support.webhooks import eventually

ENDPOINT = "id url description events enabled disabledReason failingSince secretExpiresAt"

CREATE = (
    """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    __typename
    ... on WebhookEndpointSecretSuccess { secret endpoint { %s } }
    ... on UserError { code message }
    ... on ValidationError { field }
  }
}"""
    % ENDPOINT
)

UPDATE = (
    """
mutation($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) {
    __typename
    ... on WebhookEndpointSuccess { endpoint { %s } }
    ... on UserError { code message }
  }
}"""
    % ENDPOINT
)

ROTATE = (
    """
mutation($id: ID!) {
  rotateWebhookEndpointSecret(id: $id) {
    __typename
    ... on WebhookEndpointSecretSuccess { secret endpoint { %s } }
    ... on UserError { code }
  }
}"""
    % ENDPOINT
)

DELETE = """
mutation($id: ID!) {
  deleteWebhookEndpoint(id: $id) { __typename ... on DeleteWebhookEndpointSuccess { deletedId } ... on UserError { code } }
}"""

ENDPOINTS = "{ webhookEndpoints { %s } }" % ENDPOINT

DELIVERIES = """
query($id: ID!, $first: Int!, $after: String) {
  webhookDeliveries(endpointId: $id, first: $first, after: $after) {
    edges { cursor node { id eventId eventType status attempts lastResponseCode lastAttemptAt
                           lastResponseExcerpt deliveredAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""

EVENTS = """
query($type: String) {
  outboundEvents(first: 10, type: $type) {
    edges { node { id type timestamp resourceId version data } }
  }
}"""

REDELIVER = """
mutation($eventId: ID!, $endpointId: ID!) {
  redeliverEvent(eventId: $eventId, endpointId: $endpointId) {
    __typename
    ... on RedeliverEventSuccess { delivery { id eventId status } }
    ... on UserError { code }
  }
}"""


@pytest.fixture
async def admin(client, tokens) -> Shopper:
    return Shopper(client, tokens.mint("ops-hooks", admin=True))


@pytest.fixture
async def shopper(client, tokens) -> Shopper:
    await client.post("/sandbox/razorpay/_control", json={"action": "reset"})
    return Shopper(client, tokens.mint("cust-hooks"))


async def create(admin: Shopper, **fields) -> dict:
    return (await admin.graphql(CREATE, {"input": fields}))["createWebhookEndpoint"]


class TestEndpoints:
    async def test_create_answers_the_secret_once(self, admin):
        made = await create(admin, url="http://127.0.0.1:9/hooks", events=["payment.completed"])
        assert made["__typename"] == "WebhookEndpointSecretSuccess"
        assert made["secret"].startswith("whsec_")
        assert made["endpoint"]["events"] == ["payment.completed"] and made["endpoint"]["enabled"]
        listed = (await admin.graphql(ENDPOINTS))["webhookEndpoints"]
        assert [e["id"] for e in listed] == [made["endpoint"]["id"]]
        assert made["secret"] not in str(listed)

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"url": "ftp://127.0.0.1/x"}, "url"),
            ({"url": "http://127.0.0.1:9/", "events": ["payment.paid"]}, "events"),
        ],
    )
    async def test_refusals_are_validation_errors(self, admin, fields, field):
        made = await create(admin, **fields)
        assert (made["__typename"], made["field"]) == ("ValidationError", field)

    async def test_update_rotate_delete(self, admin):
        made = await create(admin, url="http://127.0.0.1:9/hooks")
        eid = made["endpoint"]["id"]
        updated = (
            await admin.graphql(
                UPDATE, {"input": {"id": eid, "description": "orders", "enabled": False}}
            )
        )["updateWebhookEndpoint"]
        assert updated["endpoint"]["description"] == "orders"
        assert not updated["endpoint"]["enabled"]
        rotated = (await admin.graphql(ROTATE, {"id": eid}))["rotateWebhookEndpointSecret"]
        assert rotated["secret"] != made["secret"]
        assert rotated["endpoint"]["secretExpiresAt"] is not None
        deleted = (await admin.graphql(DELETE, {"id": eid}))["deleteWebhookEndpoint"]
        assert deleted["deletedId"] == eid
        again = (await admin.graphql(DELETE, {"id": eid}))["deleteWebhookEndpoint"]
        assert again == {"__typename": "NotFoundError", "code": "NOT_FOUND"}

    async def test_customers_are_refused(self, gql, tokens):
        token = tokens.mint("cust-hooks")
        body = await gql.execute(ENDPOINTS, token=token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.usefixtures("worker")
class TestDeliveriesAndRedelivery:
    async def test_a_payment_seen_through_the_admin_api(self, admin, shopper):
        async with running_receiver() as receiver:
            made = await create(admin, url=receiver.url, events=["payment.initiated"])
            receiver.secrets.append(made["secret"])
            eid = made["endpoint"]["id"]
            initiated = await shopper.initiate(orderId=order_id())
            [arrival] = await receiver.wait_for(1)
            Webhook(made["secret"]).verify(arrival.body, arrival.headers)

            events = await admin.graphql(EVENTS, {"type": "payment.initiated"})
            [event] = [e["node"] for e in events["outboundEvents"]["edges"]]
            assert event["resourceId"] == initiated["payment"]["id"]
            assert event["data"]["payment"]["status"] == "INITIATED"

            page = (await admin.graphql(DELIVERIES, {"id": eid, "first": 5}))["webhookDeliveries"]
            [delivery] = [e["node"] for e in page["edges"]]
            assert delivery["eventId"] == event["id"] == arrival.headers["webhook-id"]
            assert (delivery["status"], delivery["attempts"]) == ("DELIVERED", 1)
            assert (delivery["lastResponseCode"], delivery["lastResponseExcerpt"]) == (200, "ok")

            again = (await admin.graphql(REDELIVER, {"eventId": event["id"], "endpointId": eid}))[
                "redeliverEvent"
            ]
            assert again["__typename"] == "RedeliverEventSuccess"
            arrivals = await receiver.wait_for(2)
            assert [a.headers["webhook-id"] for a in arrivals] == [event["id"]] * 2

            async def delivered_twice() -> bool:
                page = await admin.graphql(DELIVERIES, {"id": eid, "first": 5})
                node = page["webhookDeliveries"]["edges"][0]["node"]
                return node["attempts"] == 2 and node["status"] == "DELIVERED"

            await eventually(delivered_twice, within=10)


class TestRedeliveryRefusals:
    # No worker: nothing is to be delivered, only the answer is checked.
    async def test_redelivering_an_unknown_event(self, admin):
        made = await create(admin, url="http://127.0.0.1:9/hooks")
        answer = (
            await admin.graphql(
                REDELIVER, {"eventId": "evt_NOPE", "endpointId": made["endpoint"]["id"]}
            )
        )["redeliverEvent"]
        assert answer == {"__typename": "NotFoundError", "code": "NOT_FOUND"}

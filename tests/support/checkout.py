"""A test customer's side of checkout: GraphQL calls plus the sandbox checkout stand-ins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

PAYMENT_FIELDS = """
    id orderId customerId status attemptCount installments errorCode errorMessage
    gateway methodType gatewayOrderId gatewayPaymentId
    amount { amount currency minor } refundedAmount { amount currency minor }
    timeline { fromStatus toStatus event source actor note gatewayPaymentId }
"""

INITIATE = (
    """
mutation($input: InitiatePaymentInput!) {
  initiatePayment(input: $input) {
    __typename
    ... on InitiatePaymentSuccess {
      payment { %s }
      checkout { gateway keyId gatewayOrderId amountMinor currency approveUrl scriptUrl }
    }
    ... on UserError { code message }
    ... on ValidationError { field }
    ... on DuplicateOrderError { existingPaymentId }
    ... on RateLimitedError { retryAfterSeconds }
    ... on GatewayError { retryable gatewayCode }
  }
}"""
    % PAYMENT_FIELDS
)

VERIFY = (
    """
mutation($input: VerifyPaymentInput!) {
  verifyPayment(input: $input) {
    __typename
    ... on PaymentSuccess { payment { %s } }
    ... on UserError { code message }
    ... on ValidationError { field }
  }
}"""
    % PAYMENT_FIELDS
)

CANCEL = (
    """
mutation($id: ID!) {
  cancelPayment(id: $id) {
    __typename
    ... on PaymentSuccess { payment { %s } }
    ... on UserError { code message }
  }
}"""
    % PAYMENT_FIELDS
)

PAYMENT = "query($id: ID!) { payment(id: $id) { %s } }" % PAYMENT_FIELDS

TEST_CARD = "4100280000001007"  # Razorpay test Visa: succeeds
FAILING_CARD = "4100280000060003"  # Razorpay test Visa: card_declined


async def pay_razorpay(
    http: httpx.AsyncClient, gateway_order_id: str, **body: Any
) -> dict[str, Any]:
    """What Razorpay Checkout does in the browser, against the sandbox stand-in: pays with the
    test card unless told otherwise."""
    body.setdefault("method", "card")
    if body["method"] == "card":
        body.setdefault("card_number", TEST_CARD)
    response = await http.post(f"/sandbox/razorpay/checkout/{gateway_order_id}/pay", json=body)
    result: dict[str, Any] = response.json()
    return result


@dataclass
class Shopper:
    http: httpx.AsyncClient
    token: str

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def initiate(self, **fields: Any) -> dict[str, Any]:
        fields.setdefault("amount", "499.00")
        result: dict[str, Any] = (await self.graphql(INITIATE, {"input": fields}))[
            "initiatePayment"
        ]
        return result

    async def verify(self, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = (await self.graphql(VERIFY, {"input": fields}))["verifyPayment"]
        return result

    async def cancel(self, payment_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self.graphql(CANCEL, {"id": payment_id}))["cancelPayment"]
        return result

    async def payment(self, payment_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self.graphql(PAYMENT, {"id": payment_id}))["payment"]
        return result

    async def pay_razorpay(self, gateway_order_id: str, **body: Any) -> dict[str, Any]:
        return await pay_razorpay(self.http, gateway_order_id, **body)

    async def approve_paypal(self, approve_url: str, action: str = "approve") -> None:
        response = await self.http.post(approve_url, json={"action": action})
        assert response.status_code < 400, response.text

"""Our customer's record at a gateway that keeps customers: Razorpay saves a card, and lets it
be paid with again, only for one of its customers (cust_...). One per (gateway, customer),
made when a card checkout that may save a card first needs it."""

from __future__ import annotations

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from models.clock import UtcDateTime, utcnow
from models.enums import Gateway


class GatewayCustomer(Document):
    customer_id: str = Field(min_length=1)
    gateway: Gateway
    gateway_customer_id: str = Field(min_length=1, max_length=64)
    created_at: UtcDateTime = Field(default_factory=utcnow)

    class Settings:
        name = "gateway_customers"
        validate_on_save = True
        indexes = [
            IndexModel(
                [("gateway", ASCENDING), ("customer_id", ASCENDING)],
                name="gateway_customer_unique",
                unique=True,
            )
        ]

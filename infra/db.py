"""MongoDB connection and Beanie initialisation (PyMongo's async client; motor is not used)."""

from __future__ import annotations

from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

MongoDocument = dict[str, Any]


# Also the driver's heartbeat timeout: when a heartbeat gets no answer within it, PyMongo marks
# the server unknown and interrupts every operation in flight on it. 5 s did that under load (a
# busy event loop reads the heartbeat's answer late), failing requests the database was serving.
CONNECT_TIMEOUT_MS = 20_000


def connect_mongo(url: str, *, timeout_ms: int = 5000) -> AsyncMongoClient[MongoDocument]:
    """`timeout_ms`: how long an operation waits for a usable server before it fails."""
    return AsyncMongoClient(
        url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=max(timeout_ms, CONNECT_TIMEOUT_MS),
        tz_aware=True,
        appname="paygraph",
    )


async def init_models(
    client: AsyncMongoClient[MongoDocument], db_name: str
) -> AsyncDatabase[MongoDocument]:
    """Bind every Beanie document to `db_name` and create the declared indexes."""
    from models import DOCUMENT_MODELS

    database = client[db_name]
    await init_beanie(database=database, document_models=list(DOCUMENT_MODELS))
    return database

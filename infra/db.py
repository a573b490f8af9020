"""MongoDB connection and Beanie initialisation (PyMongo's async client; motor is not used)."""

from __future__ import annotations

from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

MongoDocument = dict[str, Any]


def connect_mongo(url: str, *, timeout_ms: int = 5000) -> AsyncMongoClient[MongoDocument]:
    return AsyncMongoClient(
        url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
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

"""Trusted documents: a request may name its GraphQL document by hash instead of sending it.

The documents come from a manifest in graphql-codegen's persisted-documents format, a JSON object
mapping `sha256:<hex>` to the document text (web/persisted-documents.json is one), loaded once at
startup; every entry's hash is checked against its text. A request names a document either as
`{"documentId": "sha256:<hex>"}` or as Apollo's `extensions.persistedQuery.sha256Hash`. An
unknown hash is answered with Apollo's PersistedQueryNotFound, so Apollo clients react as they
do to their own server. With `only`, a request that sends a document text is refused: the API
then runs nothing but the manifest's documents.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from settings import ConfigurationError

PREFIX = "sha256:"
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
TRUSTED_DOCUMENTS_ONLY = "TRUSTED_DOCUMENTS_ONLY"


class DocumentRefused(Exception):
    """A request whose document cannot run; `code` goes to the error's `extensions.code`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def formatted(self) -> dict[str, object]:
        return {"message": self.message, "extensions": {"code": self.code}}


def _not_found() -> DocumentRefused:
    # Apollo's own message and code: its clients then send the whole document once.
    return DocumentRefused("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND)


def _only() -> DocumentRefused:
    return DocumentRefused(
        "This API runs trusted documents only: name the document by its hash "
        '({"documentId": "sha256:<hex>"}) instead of sending its text.',
        TRUSTED_DOCUMENTS_ONLY,
    )


class TrustedDocuments:
    """The manifest's documents by sha256 hex digest, and whether only they may run."""

    def __init__(self, documents: Mapping[str, str], *, only: bool = False) -> None:
        self._documents = dict(documents)
        self.only = only

    @classmethod
    def load(cls, path: Path | None, *, only: bool = False) -> TrustedDocuments:
        """The manifest at `path` (none: no documents); `ConfigurationError` naming
        TRUSTED_DOCUMENTS_PATH when it cannot be read or an entry's hash is not its text's."""
        if path is None:
            return cls({}, only=only)
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigurationError(
                f"TRUSTED_DOCUMENTS_PATH: cannot read a manifest from {str(path)!r}: {exc}"
            ) from None
        if not isinstance(manifest, dict):
            raise ConfigurationError(
                f"TRUSTED_DOCUMENTS_PATH: {str(path)!r} is not a JSON object of hash -> document"
            )
        documents: dict[str, str] = {}
        for key, text in manifest.items():
            if not isinstance(text, str):
                raise ConfigurationError(
                    f"TRUSTED_DOCUMENTS_PATH: the entry {key!r} in {str(path)!r} is not a document"
                )
            digest = hashlib.sha256(text.encode()).hexdigest()
            if key.removeprefix(PREFIX).lower() != digest:
                raise ConfigurationError(
                    f"TRUSTED_DOCUMENTS_PATH: the entry {key!r} in {str(path)!r} does not match "
                    f"its document (sha256 {digest})"
                )
            documents[digest] = text
        return cls(documents, only=only)

    def __len__(self) -> int:
        return len(self._documents)

    def resolve(self, data: Any) -> Any:
        """Request data (one operation, or a batch) with each named document's text as its
        `query`; `DocumentRefused` for an unknown hash or, when only trusted documents run, a
        document text. Anything else is left for the GraphQL view to judge."""
        if isinstance(data, list):
            return [self.resolve_operation(item) for item in data]
        return self.resolve_operation(data)

    def resolve_operation(self, operation: Any) -> Any:
        if not isinstance(operation, dict):
            return operation
        named = _named_hash(operation)
        # An empty `query` beside a hash is no text: graphql-ws clients must send a string.
        text = operation.get("query")
        if named is not None and text == "":
            text = None
        if named is None or text is not None:
            # A document text, possibly with its hash (Apollo's registration retry): run as sent.
            if self.only and text is not None:
                raise _only()
            return operation
        document = self._documents.get(named.removeprefix(PREFIX).lower())
        if document is None:
            raise _not_found()
        return {**operation, "query": document}


def _named_hash(operation: dict[str, Any]) -> str | None:
    """The hash an operation names its document by, if any (a non-string names nothing known)."""
    document_id = operation.get("documentId")
    if document_id is not None:
        return document_id if isinstance(document_id, str) else ""
    extensions = operation.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if isinstance(persisted, dict):
        sha = persisted.get("sha256Hash")
        return sha if isinstance(sha, str) else ""
    return None

"""Structured logging with a request id, JSON in production, and a redaction filter.

The filter runs on every record before any handler formats it: card-number-shaped digit runs
that pass Luhn, CVV-like fields, secrets and Authorization headers never reach a log line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from domain.cards import mask_card_numbers

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_SENSITIVE_KEYS = (
    r"cvv2?|cvc2?|cid|card_?number|card_?no|pan|pin|password|passwd|secret|"
    r"api_?key|key_secret|client_secret|webhook_secret|token|access_token|refresh_token|"
    r"authorization|signature|encryption_keys"
)
# key=value, key: value, "key": "value" and key='value' forms.
_SENSITIVE_PAIR = re.compile(
    r"""(?P<key>["']?\b(?:[\w-]*?_)?(?:""" + _SENSITIVE_KEYS + r""")\b["']?\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s,;}&]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
REDACTED = "[REDACTED]"


def redact(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _SENSITIVE_PAIR.sub(lambda m: f"{m.group('key')}{REDACTED}", text)
    return mask_card_numbers(text, "[REDACTED-PAN]")


class RedactionFilter(logging.Filter):
    """Rewrites the record's message (after %-formatting) and exception text, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key, value in list(vars(record).items()):
            if key in _EXTRA_SAFE or key.startswith("_"):
                continue
            if isinstance(value, str):
                setattr(record, key, redact(value))
        return True


_EXTRA_SAFE = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            payload["request_id"] = request_id
        for key, value in vars(record).items():
            extra = key not in _EXTRA_SAFE and key not in payload and key != "request_id"
            if extra and not key.startswith("_"):
                payload[key] = value if isinstance(value, (int, float, bool)) else str(value)
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id") or record.request_id is None:
            record.request_id = "-"
        return super().format(record)


def install_filters(handler: logging.Handler) -> None:
    """Attach the request-id and redaction filters to a handler (idempotent)."""
    if not any(isinstance(f, RedactionFilter) for f in handler.filters):
        handler.addFilter(RequestIdFilter())
        handler.addFilter(RedactionFilter())


def configure_logging(*, json_output: bool, level: str = "INFO") -> None:
    """Route every logger through one redacting handler on stderr."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_paygraph", False):
            root.removeHandler(existing)
    handler = logging.StreamHandler(sys.stderr)
    handler._paygraph = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if json_output else TextFormatter())
    install_filters(handler)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Library loggers that would echo request data or bodies stay at WARNING.
    for noisy in ("httpx", "httpcore", "pymongo", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # uvicorn's own handlers would bypass ours; make them propagate to the root instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        lib_logger = logging.getLogger(name)
        lib_logger.handlers.clear()
        lib_logger.propagate = True

"""Redaction on real log output: what a handler writes never holds card data or secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest

from domain.cards import find_card_numbers, luhn_valid
from infra.logging import JsonFormatter, TextFormatter, install_filters, request_id_var

TEST_CARDS = ["4111111111111111", "4100 2800 0000 1007", "6527-6589-0000-1005", "3402 560004 01007"]


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    install_filters(handler)
    logger = logging.getLogger("paygraph.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class TestCardNumbers:
    @pytest.mark.parametrize("card", TEST_CARDS)
    def test_luhn_valid_card_in_message_is_removed(self, captured, card):
        logger, stream = captured
        logger.info("customer typed %s at checkout", card)
        output = stream.getvalue()
        digits = card.replace(" ", "").replace("-", "")
        assert card not in output and digits not in output
        assert "[REDACTED-PAN]" in output

    def test_card_in_extra_field_is_removed(self, captured):
        logger, stream = captured
        logger.info("payment", extra={"note": "pay with 4111 1111 1111 1111 please"})
        assert "4111" not in stream.getvalue()

    def test_card_in_exception_text_is_removed(self, captured):
        logger, stream = captured
        try:
            raise ValueError("bad card 4111111111111111")
        except ValueError:
            logger.exception("failed")
        assert "4111111111111111" not in stream.getvalue()

    def test_non_luhn_digit_runs_survive(self, captured):
        logger, stream = captured
        logger.info("order 1234567890123 phone 9876543210")
        assert "1234567890123" in stream.getvalue()

    def test_finder(self):
        assert find_card_numbers("a 4111 1111 1111 1111 b 1234567890123") == ["4111 1111 1111 1111"]
        assert luhn_valid("79927398713") and not luhn_valid("79927398710")


class TestSecrets:
    @pytest.mark.parametrize(
        ("text", "secret"),
        [
            ("cvv=123 ok", "123"),
            ('{"cvv": "4567"}', "4567"),
            ("key_secret=abcdefSECRET", "abcdefSECRET"),
            ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
            ("client_secret='pp-secret-value'", "pp-secret-value"),
            ("webhook_secret: whsec_live_1", "whsec_live_1"),
            ("password=hunter2", "hunter2"),
        ],
    )
    def test_removed(self, captured, text, secret):
        logger, stream = captured
        logger.warning(text)
        assert secret not in stream.getvalue()
        assert "[REDACTED]" in stream.getvalue()


class TestFormats:
    def test_json_lines_carry_the_request_id(self, captured):
        logger, stream = captured
        token = request_id_var.set("req-77")
        try:
            logger.info("hello")
        finally:
            request_id_var.reset(token)
        record = lines(stream)[0]
        assert record["message"] == "hello"
        assert record["request_id"] == "req-77"
        assert record["level"] == "INFO"

    def test_text_format(self):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(TextFormatter())
        install_filters(handler)
        record = logging.makeLogRecord(
            {"msg": "card 4111111111111111", "levelno": 20, "levelname": "INFO"}
        )
        handler.handle(record)
        assert "4111111111111111" not in stream.getvalue()
        assert "[-]" in stream.getvalue()


class TestStandalone:
    def test_digit_runs_glued_to_letters_are_not_card_numbers(self):
        signature = "9f" + "4100280000001007" + "ab" * 23
        assert find_card_numbers(signature) == ["4100280000001007"]  # logs: redact anyway
        assert find_card_numbers(signature, standalone=True) == []  # input: not a PAN

    def test_standalone_still_finds_separated_numbers(self):
        assert find_card_numbers("pay 4100 2800 0000 1007 now", standalone=True) == [
            "4100 2800 0000 1007"
        ]

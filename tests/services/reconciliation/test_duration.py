"""`--since` durations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.reconciliation import parse_duration


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("6h", 21600), ("2d", 172800)]
    )
    def test_units(self, text, seconds):
        assert parse_duration(text) == timedelta(seconds=seconds)

    @pytest.mark.parametrize("text", ["", "soon", "-5m", "0h"])
    def test_rejects(self, text):
        from models.errors import ValidationFailed

        with pytest.raises(ValidationFailed):
            parse_duration(text)

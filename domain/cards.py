"""What a card number (PAN) looks like, for refusing it as input and redacting it from logs."""

from __future__ import annotations

import re

# 13-19 digits, optionally separated by single spaces or dashes, not part of a longer number.
_PAN_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")
# The same, standing alone: not glued to letters either, so digit runs inside hex signatures,
# gateway ids or tokens are not mistaken for card numbers.
_STANDALONE_PAN_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def find_card_numbers(text: str, *, standalone: bool = False) -> list[str]:
    """Card-number-shaped runs (13-19 digits, spaces/dashes allowed) that pass Luhn.
    `standalone` skips runs glued to letters (hex digests, ids): for refusing input, where a
    false positive blocks a payment; logs are redacted with the wider net."""
    found = []
    pattern = _STANDALONE_PAN_CANDIDATE if standalone else _PAN_CANDIDATE
    for match in pattern.finditer(text):
        digits = re.sub(r"[ -]", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append(match.group(0))
    return found


def mask_card_numbers(text: str, replacement: str) -> str:
    """`text` with every card-number-shaped run that passes Luhn replaced (the wide net)."""

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group(0))
        return replacement if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)

    return _PAN_CANDIDATE.sub(mask, text)

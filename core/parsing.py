"""Whole numbers from URLs, query strings and form fields, one rule for all of them.

Python's ``int()`` takes more than a person means by a number (``"١٢"``, ``"1_000"``,
``" 7 "``) and ``str.isdigit()`` accepts what ``int()`` refuses (``"²"``), so every
request value goes through here: ASCII digits, an optional minus, nothing else.
"""

from __future__ import annotations

import re

_ASCII_INT = re.compile(r"-?[0-9]{1,19}")
BIGINT_MAX = 2**63 - 1


def parse_int(value: object, *, low: int = -BIGINT_MAX, high: int = BIGINT_MAX) -> int | None:
    """The integer ``value`` spells in ASCII digits within [low, high], else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _ASCII_INT.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if low <= number <= high else None


def parse_id(value: object) -> int | None:
    """A primary key: a positive 64-bit integer, else None."""
    return parse_int(value, low=1)

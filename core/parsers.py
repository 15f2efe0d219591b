"""The API's one body parser: DRF's JSON parser with every malformed body a 400.

DRF already turns invalid JSON and invalid UTF-8 into a ParseError. Left to it,
a few hundred bytes of ``[[[[…`` still reach a 500: the decoder's own recursion
limit, or later code (``str()``, the idempotency fingerprint) walking a value
nested a thousand deep. Every endpoint takes one JSON object of flat fields, so
a body must be an object and its values nested at most ``MAX_DEPTH`` deep.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 16


def nesting_depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        if not isinstance(data, dict):
            raise ParseError('The body must be a JSON object, e.g. {"field": value}.')
        if nesting_depth(data) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - the body is nested more than {MAX_DEPTH} levels deep.")
        return data

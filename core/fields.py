"""Copying a value into a text column of another model: it must fit that column."""

from __future__ import annotations

from django.db import models

ELLIPSIS = "…"


def fit(model: type[models.Model], field: str, value: str) -> str:
    """``value`` cut to the column's ``max_length`` (ending in an ellipsis when cut), so a
    long source (a 200-character concert title inside an email subject) never fails a write."""
    limit = model._meta.get_field(field).max_length
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - len(ELLIPSIS)] + ELLIPSIS

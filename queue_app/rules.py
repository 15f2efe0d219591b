"""Small rules of the waiting room that other apps share, with no database access."""

from __future__ import annotations

import datetime as dt


def booking_is_open(opens_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Booking is open once its opening time has come; no opening time means always open."""
    return opens_at is None or opens_at <= now

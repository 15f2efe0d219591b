"""Writes to the catalogue and to seat reservations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction

from concerts.models import Concert, Performance, Seat

# (grade, first seat, last seat, price in won): the demo's default price grades.
DEFAULT_GRADES: tuple[tuple[str, int, int, int], ...] = (
    ("VIP", 1, 10, 150_000),
    ("R", 11, 30, 110_000),
    ("S", 31, 50, 80_000),
)


def performance_create(
    *,
    concert: Concert,
    date: dt.date,
    start_time: dt.time = dt.time(19, 30),
    grades: Iterable[tuple[str, int, int, int]] = DEFAULT_GRADES,
) -> Performance:
    """A performance and its seats, priced by grade ranges."""
    with transaction.atomic():
        performance = Performance.objects.create(concert=concert, date=date, start_time=start_time)
        Seat.objects.bulk_create(
            Seat(performance=performance, number=n, grade=grade, price=price)
            for grade, first, last, price in grades
            for n in range(first, last + 1)
        )
    return performance

"""The opening surge's two hottest reads, dates and seat maps, from a per-process
snapshot at most ``MAX_AGE`` old.

Every admitted fan's page refreshes its seat map every few seconds; rebuilding it
from the database each time costs a join over every seat and its reservations.
A snapshot of that join is shared by all requests of a process for up to one
second, which bounds what a fan sees of someone else's hold, release or payment
to one second late. Two things are never stale:

- a hold that lapses: the snapshot keeps each hold's ``held_until`` and the read
  compares it with its own clock, so the seat is free the moment the hold ends;
- the fan's own seats: each read overlays the caller's live reservations for the
  performance, read fresh (one indexed query), so their own hold, release or
  payment shows at once.

Nothing here decides a booking: the hold itself locks the seat on the primary.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import connection
from django.db.models import FilteredRelation
from django.utils import timezone

from concerts import selectors
from concerts.exceptions import DateNotAvailable
from concerts.models import Concert, Reservation, Seat
from concerts.selectors import SeatState, live_reservations_q, seat_status

MAX_AGE = dt.timedelta(seconds=1)
MAX_ENTRIES = 2048

T = TypeVar("T")


class _Snapshots:
    """A small LRU of (built at, value) by key; a value older than MAX_AGE is rebuilt."""

    def __init__(self) -> None:
        self._items: OrderedDict[object, tuple[dt.datetime, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object, now: dt.datetime, build: Callable[[], T]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] <= now < hit[0] + MAX_AGE:
                self._items.move_to_end(key)
                return hit[1]  # type: ignore[return-value]
        value = build()
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            while len(self._items) > MAX_ENTRIES:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_dates = _Snapshots()
_seats = _Snapshots()


def snapshots_clear() -> None:
    """Forget every snapshot (tests; a staff change that must show at once)."""
    _dates.clear()
    _seats.clear()


@dataclass(frozen=True)
class DateRow:
    performance_id: int
    date: dt.date
    start_time: dt.time
    seats: int
    taken: int
    starts_at: dt.datetime  # computed once, when the snapshot is built

    @property
    def available(self) -> int:
        return self.seats - self.taken


def bookable_dates(*, concert_id: int, now: dt.datetime | None = None) -> list[DateRow]:
    """The concert's bookable performances with their seats left, from a snapshot at most
    MAX_AGE old; a performance that starts meanwhile drops out at once."""
    return bookable_dates_rendered(concert_id=concert_id, render=_as_they_are, now=now)


def bookable_dates_rendered(
    *, concert_id: int, render: Callable[[list[DateRow]], T], now: dt.datetime | None = None
) -> T:
    """``render(rows)`` of `bookable_dates`' rows, made once per snapshot and set of rows (the
    answer is the same for every fan): ``render`` must be a function of its argument alone."""
    now = now or timezone.now()
    snapshot = _dates.get(concert_id, now, lambda: _DatesSnapshot(_build_dates(concert_id, now)))
    rows = [row for row in snapshot.rows if row.starts_at > now]
    key = (render, len(rows))  # a performance that starts drops out of the front: the count tells
    value = snapshot.shared.get(key)
    if value is None:  # two threads may both render it: the same value, no harm
        value = snapshot.shared[key] = render(rows)
    return value


@dataclass
class _DatesSnapshot:
    rows: list[DateRow]
    shared: dict = field(default_factory=dict)  # (render, rows left) -> its value


def bookable_date(*, concert_id: int, date: dt.date, now: dt.datetime | None = None) -> DateRow:
    row = next((row for row in bookable_dates(concert_id=concert_id, now=now) if row.date == date), None)
    if row is None:
        raise DateNotAvailable(f"There is no bookable performance of this concert on {date:%Y-%m-%d}.")
    return row


def _build_dates(concert_id: int, now: dt.datetime) -> list[DateRow]:
    rows = selectors.bookable_performances(concert=Concert(pk=concert_id), now=now).values_list(
        "pk", "date", "start_time", "seat_count", "taken_count"
    )
    return [
        DateRow(pk, date, start, seats, taken, timezone.make_aware(dt.datetime.combine(date, start)))
        for pk, date, start, seats, taken in rows
    ]


@dataclass(frozen=True)
class _SeatRow:
    number: int
    grade: str
    price: int
    status: str | None  # the live reservation's status at build time, if any
    holder_id: int | None
    reservation_id: int | None
    held_until: dt.datetime | None


def seat_map(*, performance_id: int, user_id: int | None, now: dt.datetime | None = None) -> list[SeatState]:
    """Every seat of the performance with its state at ``now``: others' holds and sales
    from a snapshot at most MAX_AGE old, lapses exact, the caller's own seats fresh."""
    return seat_map_rendered(performance_id=performance_id, user_id=user_id, render=_as_they_are, now=now)


def _as_they_are(value: list, *_: object) -> list:
    return value


def seat_map_rendered(
    *,
    performance_id: int,
    user_id: int | None,
    render: Callable[..., T],
    context: tuple = (),
    now: dt.datetime | None = None,
) -> T:
    """``render(states, user_id, *context)`` of `seat_map`'s states. Most fans hold nothing
    of the performance, and to all of them the snapshot shows the same map until its first
    hold lapses: for a caller with no seat of their own (read fresh, as always) the rendering
    is made once per snapshot and ``(render, context)``, as ``render(states, None, *context)``,
    and shared. ``render`` must be a function of its arguments alone."""
    now = now or timezone.now()
    snapshot = _seats.get(performance_id, now, lambda: _build_seats(performance_id, now))
    mine = {}
    if user_id is not None:
        with connection.cursor() as cursor:
            cursor.execute(_MINE_SQL, [user_id, performance_id, connection.ops.adapt_datetimefield_value(now)])
            mine = {number: (status, pk) for number, status, pk in cursor.fetchall()}
    if not mine and user_id not in snapshot.holders and now < snapshot.first_lapse:
        key = (render, context)
        shared = snapshot.shared.get(key)
        if shared is None:  # two threads may both render it: the same value, no harm
            shared = snapshot.shared[key] = render(_states(snapshot.rows, {}, None, now), None, *context)
        return shared
    return render(_states(snapshot.rows, mine, user_id, now), user_id, *context)


def _states(rows: list[_SeatRow], mine: dict, user_id: int | None, now: dt.datetime) -> list[SeatState]:
    states = []
    for row in rows:
        status, holder, reservation = row.status, row.holder_id, row.reservation_id
        if status == Reservation.Status.HELD and row.held_until <= now:
            status = holder = reservation = None  # lapsed since the snapshot: free now
        if row.number in mine:
            status, reservation = mine[row.number]
            holder = user_id
        elif holder is not None and holder == user_id:
            status = holder = reservation = None  # the caller released or lost it since
        states.append(SeatState(row.number, row.grade, row.price, seat_status(status), holder, reservation))
    return states


# The caller's live reservations for the performance (index on user, performance, status),
# as plain SQL: this runs on every seat-map read, and building it through the ORM cost more
# than running it. Runs on SQLite and PostgreSQL.
_MINE_SQL = """
SELECT s.number, r.status, r.id FROM concerts_reservation r JOIN concerts_seat s ON s.id = r.seat_id
WHERE r.user_id = %s AND r.performance_id = %s
  AND (r.status = 'CONFIRMED' OR (r.status = 'HELD' AND r.held_until > %s))
"""


@dataclass
class _SeatSnapshot:
    rows: list[_SeatRow]
    holders: frozenset[int]  # users with a live reservation in the snapshot
    first_lapse: dt.datetime  # the earliest held_until among its holds (far future if none)
    shared: dict = field(default_factory=dict)  # (render, context) -> its value for a caller with no seat


def _build_seats(performance_id: int, now: dt.datetime) -> _SeatSnapshot:
    rows = (
        Seat.objects.filter(performance_id=performance_id)
        .annotate(live=FilteredRelation("reservations", condition=live_reservations_q(now, "reservations__")))
        .order_by("number")
        .values_list("number", "grade", "price", "live__status", "live__user_id", "live__id", "live__held_until")
    )
    seats = [_SeatRow(*row) for row in rows]
    lapses = [row.held_until for row in seats if row.status == Reservation.Status.HELD]
    return _SeatSnapshot(
        rows=seats,
        holders=frozenset(row.holder_id for row in seats if row.holder_id is not None),
        first_lapse=min(lapses, default=dt.datetime.max.replace(tzinfo=dt.UTC)),
    )

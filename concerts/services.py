"""Writes to the catalogue and to seat reservations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NoReturn

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from concerts import selectors
from concerts.exceptions import (
    BookingNotOpen,
    HoldLimitReached,
    ReservationNotHeld,
    SeatNotFound,
    SeatUnavailable,
)
from concerts.locking import user_concert_lock_condition
from concerts.models import Concert, Performance, Reservation, Seat
from queue_app import services as queue_services
from queue_app.rules import booking_is_open

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
    """A performance and its seats, priced by grade ranges (each price at least 1 won)."""
    grades = tuple(grades)
    if any(price < 1 for _, _, _, price in grades):
        raise ValueError("every seat costs at least 1 won")
    with transaction.atomic():
        performance = Performance.objects.create(concert=concert, date=date, start_time=start_time)
        Seat.objects.bulk_create(
            Seat(performance=performance, number=n, grade=grade, price=price)
            for grade, first, last, price in grades
            for n in range(first, last + 1)
        )
    return performance


def seat_hold(
    *,
    user_id: int,
    concert_id: int,
    date: dt.date,
    seat_number: int,
    now: dt.datetime | None = None,
) -> Reservation:
    """Hold one seat for HOLD_TTL_SECONDS. Of any number of simultaneous requests for
    a seat exactly one wins: the seat row is locked and its live reservation re-read
    under the lock; the partial unique constraint backs it up.

    One transaction of three statements (locks in the order of core.locking): the
    user's per-concert lock taken and the bookable seat found and locked in one query;
    the insert, made only if the seat has no live reservation and the user is under
    the per-performance limit (read under both locks: a new statement, a new
    snapshot); and the holder's ACTIVE pass pushed out to cover the hold (never past
    the pass's hard end; a hold then ends with its pass). When the insert finds the
    seat or the limit in the way, a read says which (or records a lapsed hold on the
    seat as EXPIRED, and the insert runs again). The reservation comes back with its
    performance and seat attached, so showing it costs no further query.
    """
    now = now or timezone.now()
    held_until = now + dt.timedelta(seconds=settings.HOLD_TTL_SECONDS)
    try:
        with transaction.atomic():
            seat = _seat_for_hold(user_id=user_id, concert_id=concert_id, date=date, seat_number=seat_number, now=now)
            if seat is None:
                _explain_unbookable(concert_id=concert_id, date=date, seat_number=seat_number, now=now)
            reservation = _hold_insert(user_id=user_id, seat=seat, held_until=held_until, now=now)
            if reservation is None:
                _check_seat_and_limit(user_id=user_id, seat=seat, now=now)
                reservation = _hold_insert(user_id=user_id, seat=seat, held_until=held_until, now=now)
            if reservation is None:  # freed and taken again between the two reads: cannot happen under the locks
                raise IntegrityError("seat taken under its lock")
            pass_ends = queue_services.pass_extend(user_id=user_id, concert_id=concert_id, until=held_until, now=now)
            if pass_ends is not None and pass_ends < held_until:
                # The pass reached its hard end: the hold ends with it, so release and re-hold
                # in a loop cannot keep a seat (and a place among the admitted) forever.
                Reservation.objects.filter(pk=reservation.pk).update(held_until=pass_ends)
                reservation.held_until = pass_ends
    except IntegrityError:
        raise SeatUnavailable(f"Seat {seat_number} was just taken by someone else; please pick another.") from None
    return reservation


# The hold's statements, as plain SQL: they run on every hold, and building them through the
# ORM cost more than running them. All run on SQLite (the embedded default) and PostgreSQL.
_SEAT_FOR_HOLD_SQL = """
SELECT s.id, s.grade, s.price, p.id, p.start_time, c.booking_opens_at
FROM concerts_seat s JOIN concerts_performance p ON p.id = s.performance_id
JOIN concerts_concert c ON c.id = p.concert_id
WHERE p.concert_id = %s AND p.date = %s AND s.number = %s AND {lock}
"""
# Live for the seat: any HELD or CONFIRMED row (a lapsed hold still blocks the partial unique
# constraint until it is marked EXPIRED); live for the limit: confirmed, or a hold not lapsed.
_LIVE_FOR_LIMIT = "(status = 'CONFIRMED' OR (status = 'HELD' AND held_until > %(now)s))"
_HOLD_INSERT_SQL = f"""
INSERT INTO concerts_reservation (user_id, performance_id, seat_id, price, status, held_until, created_at, updated_at)
SELECT %(user)s, %(performance)s, %(seat)s, %(price)s, 'HELD', %(until)s, %(now)s, %(now)s
WHERE NOT EXISTS (SELECT 1 FROM concerts_reservation WHERE seat_id = %(seat)s AND status IN ('HELD', 'CONFIRMED'))
  AND (SELECT COUNT(*) FROM concerts_reservation
       WHERE user_id = %(user)s AND performance_id = %(performance)s AND {_LIVE_FOR_LIMIT}) < %(limit)s
RETURNING id
"""
_SEAT_AND_MINE_SQL = f"""
SELECT id, seat_id, user_id, status, held_until FROM concerts_reservation
WHERE (seat_id = %(seat)s AND status IN ('HELD', 'CONFIRMED'))
   OR (user_id = %(user)s AND performance_id = %(performance)s AND {_LIVE_FOR_LIMIT})
"""


def _seat_for_hold(*, user_id: int, concert_id: int, date: dt.date, seat_number: int, now: dt.datetime) -> Seat | None:
    """The user's per-concert hold lock, then the seat, locked (``FOR UPDATE OF`` the seat row
    alone), with its performance attached: one query. None unless the performance is bookable
    at ``now``; BookingNotOpen before the concert's opening (moved later after passes were
    admitted). What the locks protect is read by the next statement, not this one."""
    assert connection.in_atomic_block, "_seat_for_hold needs a transaction"
    if not -(2**15) <= seat_number < 2**15:  # the column is a smallint
        return None
    lock, lock_params = user_concert_lock_condition(user_id=user_id, concert_id=concert_id)
    sql = _SEAT_FOR_HOLD_SQL.format(lock=lock)
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [concert_id, connection.ops.adapt_datefield_value(date), seat_number, *lock_params])
        row = cursor.fetchone()
    if row is None:
        return None
    seat_id, grade, price, performance_id, start_time, opens_at = row
    if isinstance(start_time, str):  # SQLite
        start_time = dt.time.fromisoformat(start_time)
    if isinstance(opens_at, str):  # SQLite keeps UTC without an offset
        opens_at = dt.datetime.fromisoformat(opens_at)
    if opens_at is not None and timezone.is_naive(opens_at):
        opens_at = opens_at.replace(tzinfo=dt.UTC)
    if not booking_is_open(opens_at, now):
        raise BookingNotOpen(
            f"Booking for this concert opens at {timezone.localtime(opens_at):%Y-%m-%d %H:%M}; "
            "your place in the waiting room is kept until then.",
            opens_at=timezone.localtime(opens_at).isoformat(),
        )
    if not selectors.performance_is_bookable(date=date, start_time=start_time, now=now):
        return None
    performance = Performance(id=performance_id, concert_id=concert_id, date=date, start_time=start_time)
    return Seat(id=seat_id, performance=performance, number=seat_number, grade=grade, price=price)


def _hold_insert(*, user_id: int, seat: Seat, held_until: dt.datetime, now: dt.datetime) -> Reservation | None:
    """Insert the hold if the seat has no live reservation and the user is under the limit
    (None: one of them is in the way). Caller holds the user's lock and the seat's."""
    adapt = connection.ops.adapt_datetimefield_value
    params = {
        "user": user_id,
        "performance": seat.performance_id,
        "seat": seat.pk,
        "price": seat.price,
        "until": adapt(held_until),
        "now": adapt(now),
        "limit": settings.MAX_HOLDS_PER_USER,
    }
    with connection.cursor() as cursor:
        cursor.execute(_HOLD_INSERT_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    reservation = Reservation(
        pk=row[0],
        user_id=user_id,
        performance=seat.performance,
        seat=seat,
        price=seat.price,
        status=Reservation.Status.HELD,
        held_until=held_until,
        created_at=now,
        updated_at=now,
    )
    reservation._state.adding = False
    reservation._state.db = connection.alias
    return reservation


def _check_seat_and_limit(*, user_id: int, seat: Seat, now: dt.datetime) -> None:
    """Under the user's lock and the seat's: the seat must be free (a lapsed hold on it is
    recorded as EXPIRED now) and the user under the per-performance limit. One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            _SEAT_AND_MINE_SQL,
            {
                "seat": seat.pk,
                "user": user_id,
                "performance": seat.performance_id,
                "now": connection.ops.adapt_datetimefield_value(now),
            },
        )
        rows = [
            (pk, seat_id, holder, status, until if timezone.is_aware(until) else until.replace(tzinfo=dt.UTC))
            for pk, seat_id, holder, status, until in cursor.fetchall()
        ]
    live_hold = Reservation.Status.HELD
    mine = sum(1 for _, _, holder, status, until in rows if holder == user_id and (status != live_hold or until > now))
    if mine >= settings.MAX_HOLDS_PER_USER:
        raise HoldLimitReached(
            f"You already hold or own {mine} seats for this date, the most allowed "
            f"({settings.MAX_HOLDS_PER_USER}). Pay for or release one first.",
            limit=settings.MAX_HOLDS_PER_USER,
        )
    for pk, seat_id, holder, status, until in rows:
        if seat_id != seat.pk:
            continue
        if status == live_hold and until <= now:
            # Lapsed: it freed the seat the second it lapsed; record that now (unless a sweep just did).
            Reservation.objects.filter(pk=pk, status=live_hold).update(
                status=Reservation.Status.EXPIRED, updated_at=now
            )
        elif holder == user_id:
            raise SeatUnavailable(f"You already hold seat {seat.number} (reservation {pk}).", reservation_id=pk)
        else:
            raise SeatUnavailable(f"Seat {seat.number} was just taken by someone else; please pick another.")


def _explain_unbookable(*, concert_id: int, date: dt.date, seat_number: int, now: dt.datetime) -> NoReturn:
    """The hold's seat query found nothing: say which part is wrong, in the contract's order."""
    concert = selectors.concert_get(concert_id=concert_id, priced=False)
    selectors.bookable_performance(concert=concert, date=date, now=now)
    raise SeatNotFound(f"Seat {seat_number} does not exist for this date; seats are numbered 1 to 50.")


def reservation_release(*, user_id: int, reservation_id: int, now: dt.datetime | None = None) -> Reservation:
    """The holder gives a live hold back: the seat is free at once."""
    now = now or timezone.now()
    with transaction.atomic():
        reservation = selectors.reservation_get(user_id=user_id, reservation_id=reservation_id, for_update=True)
        if not reservation.is_live_hold(now):
            status = selectors.effective_status(reservation, now).lower()
            raise ReservationNotHeld(f"Reservation {reservation.pk} is {status}, not a live hold.")
        reservation.status = Reservation.Status.CANCELLED
        reservation.save(update_fields=["status", "updated_at"])
    return reservation


def hold_release_by_staff(*, reservation_id: int, now: dt.datetime | None = None) -> int:
    """Staff: release a HELD reservation (lapsed or not). Returns 1 if released."""
    now = now or timezone.now()
    return Reservation.objects.filter(pk=reservation_id, status=Reservation.Status.HELD).update(
        status=Reservation.Status.CANCELLED, updated_at=now
    )


def holds_sweep(*, now: dt.datetime | None = None, batch_size: int = 500) -> int:
    """Mark lapsed holds EXPIRED, in small batches. A tidy-up only: reads already
    treat a lapsed hold as free. Safe on several workers at once: rows another
    transaction holds (being paid, or re-held) are skipped, and ``held_until`` is
    re-checked under the lock, so a hold renewed or paid meanwhile is never expired.
    """
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Reservation.objects.select_for_update(skip_locked=True)
                .filter(status=Reservation.Status.HELD, held_until__lte=now)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return total
            total += Reservation.objects.filter(pk__in=ids, status=Reservation.Status.HELD, held_until__lte=now).update(
                status=Reservation.Status.EXPIRED, updated_at=now
            )
        if len(ids) < batch_size:
            return total

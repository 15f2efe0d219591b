"""Reads of the catalogue. Seat state is derived at read time from reservations,
so a lapsed hold is AVAILABLE the second it lapses, whether or not a sweeper ran."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, FilteredRelation, IntegerField, Min, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from concerts.exceptions import ConcertNotFound, DateNotAvailable, ReservationNotFound
from concerts.models import Concert, Performance, Reservation, Seat
from core.parsing import parse_id

SEAT_AVAILABLE = "AVAILABLE"
SEAT_HELD = "HELD"
SEAT_SOLD = "SOLD"


def add_one_month(day: dt.date) -> dt.date:
    """The same day next month, clamped to that month's end (Jan 31 -> Feb 28/29)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def booking_window(now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """First and last bookable dates: today (in TIME_ZONE) to one calendar month on."""
    today = timezone.localdate(now or timezone.now())
    return today, add_one_month(today)


def live_reservations_q(now: dt.datetime, prefix: str = "") -> Q:
    """Reservations that occupy their seat at ``now``: confirmed, or a hold not yet lapsed."""
    return Q(**{f"{prefix}status": Reservation.Status.CONFIRMED}) | Q(
        **{f"{prefix}status": Reservation.Status.HELD, f"{prefix}held_until__gt": now}
    )


def concert_list(*, using: str = "default") -> QuerySet[Concert]:
    return Concert.objects.using(using).annotate(price_from=Min("performances__seats__price")).order_by("id")


def concert_get(*, concert_id: object, priced: bool = True, using: str = "default") -> Concert:
    """One concert; ``priced`` adds the catalogue's ``price_from`` (an aggregate over
    every seat), which the gated booking paths do not need. ``using`` names the database
    (the catalogue may read a replica: core.replica)."""
    pk = parse_id(concert_id)
    concerts = concert_list(using=using) if priced else Concert.objects.using(using)
    concert = concerts.filter(pk=pk).first() if pk is not None else None
    if concert is None:
        raise ConcertNotFound()
    return concert


def performance_is_bookable(*, date: dt.date, start_time: dt.time, now: dt.datetime) -> bool:
    """A performance can be booked at ``now`` if it has not started and is dated at most
    one calendar month after today. `bookable_q` is the same rule as a filter."""
    today, last = booking_window(now)
    return today <= date <= last and not (date == today and start_time <= timezone.localtime(now).time())


def bookable_q(now: dt.datetime, prefix: str = "") -> Q:
    """`performance_is_bookable` as a filter on performances."""
    today, last = booking_window(now)
    started_today = Q(**{f"{prefix}date": today, f"{prefix}start_time__lte": timezone.localtime(now).time()})
    return Q(**{f"{prefix}date__gte": today, f"{prefix}date__lte": last}) & ~started_today


def bookable_performances(*, concert: Concert, now: dt.datetime | None = None) -> QuerySet[Performance]:
    """Performances not started and at most one calendar month ahead, with seats left.

    One query: the seat and live-reservation counts are correlated subqueries, so
    no counter row exists for holds to queue on.
    """
    now = now or timezone.now()
    seats = (
        Seat.objects.filter(performance=OuterRef("pk"))
        .order_by()
        .values("performance")
        .annotate(n=Count("pk"))
        .values("n")
    )
    taken = (
        Reservation.objects.filter(live_reservations_q(now), performance=OuterRef("pk"))
        .order_by()
        .values("performance")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Performance.objects.filter(bookable_q(now), concert=concert)
        .annotate(
            seat_count=Coalesce(Subquery(seats, output_field=IntegerField()), Value(0)),
            taken_count=Coalesce(Subquery(taken, output_field=IntegerField()), Value(0)),
        )
        .order_by("date")
    )


def parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def bookable_performance(*, concert: Concert, date: dt.date, now: dt.datetime | None = None) -> Performance:
    performance = bookable_performances(concert=concert, now=now).filter(date=date).first()
    if performance is None:
        raise DateNotAvailable(f"There is no bookable performance of this concert on {date:%Y-%m-%d}.")
    return performance


@dataclass(frozen=True)
class SeatState:
    number: int
    grade: str
    price: int
    status: str
    holder_id: int | None
    reservation_id: int | None


def seat_map(*, performance: Performance, now: dt.datetime | None = None) -> list[SeatState]:
    """Every seat with its state at ``now``, in one query (a filtered LEFT JOIN)."""
    now = now or timezone.now()
    rows = (
        Seat.objects.filter(performance=performance)
        .annotate(live=FilteredRelation("reservations", condition=live_reservations_q(now, "reservations__")))
        .order_by("number")
        .values_list("number", "grade", "price", "live__status", "live__user_id", "live__id")
    )
    return [
        SeatState(number, grade, price, seat_status(live_status), live_user, live_id)
        for number, grade, price, live_status, live_user, live_id in rows
    ]


def seat_status(live_status: str | None) -> str:
    """A seat's state from the status of its live reservation (None: it has none)."""
    if live_status == Reservation.Status.CONFIRMED:
        return SEAT_SOLD
    if live_status == Reservation.Status.HELD:
        return SEAT_HELD
    return SEAT_AVAILABLE


def effective_status(reservation: Reservation, now: dt.datetime | None = None) -> str:
    """The status as of ``now``: a HELD reservation past its time is EXPIRED."""
    if reservation.status == Reservation.Status.HELD and reservation.held_until <= (now or timezone.now()):
        return Reservation.Status.EXPIRED
    return reservation.status


def user_reservations(*, user_id: int) -> QuerySet[Reservation]:
    """The user's reservations, newest first, with what showing them needs."""
    return (
        Reservation.objects.filter(user_id=user_id)
        .select_related("performance__concert", "seat")
        .order_by("-created_at", "-id")
    )


def reservation_get(*, user_id: int | None, reservation_id: object, for_update: bool = False) -> Reservation:
    """The user's own reservation (any user's when ``user_id`` is None: staff), with its
    performance, concert, seat and user; someone else's is ReservationNotFound, like none.
    ``for_update`` locks the reservation row alone (caller is in a transaction)."""
    pk = parse_id(reservation_id)
    if pk is None:
        raise ReservationNotFound()
    rows = Reservation.objects.select_related("performance__concert", "seat", "user")
    if for_update:
        rows = rows.select_for_update(of=("self",))
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    reservation = rows.filter(pk=pk).first()
    if reservation is None:
        raise ReservationNotFound()
    return reservation


# Paying locks the reservation and needs its seat, performance, concert and user (for the
# email), and whether the user holds anything else for that concert (to end the pass): one
# plain-SQL statement, because building it through the ORM cost more than running it.
_PAY_JOIN = ((Reservation, "r"), (Seat, "s"), (Performance, "p"), (Concert, "c"))
_PAY_SQL = """
SELECT {columns},
       EXISTS (SELECT 1 FROM concerts_reservation o JOIN concerts_performance op ON op.id = o.performance_id
               WHERE o.user_id = r.user_id AND op.concert_id = p.concert_id AND o.id <> r.id
                 AND o.status = 'HELD' AND o.held_until > %s)
FROM concerts_reservation r
JOIN concerts_seat s ON s.id = r.seat_id
JOIN concerts_performance p ON p.id = r.performance_id
JOIN concerts_concert c ON c.id = p.concert_id
JOIN {user_table} u ON u.id = r.user_id
WHERE r.id = %s AND r.user_id = %s
"""
_pay_statement: dict[str, tuple[str, list, dict]] = {}


def _pay_query() -> tuple[str, list, dict]:
    """The statement, the models with their column counts, and the converters of the columns
    (SQLite hands back dates and times as text), built once per database vendor."""
    if connection.vendor not in _pay_statement:
        user_model = Reservation._meta.get_field("user").related_model
        joined = [*_PAY_JOIN, (user_model, "u")]
        cols = [f.get_col(alias) for model, alias in joined for f in model._meta.concrete_fields]
        quote = connection.ops.quote_name
        sql = _PAY_SQL.format(
            columns=", ".join(f"{col.alias}.{quote(col.target.column)}" for col in cols),
            user_table=quote(user_model._meta.db_table),
        )
        if connection.features.has_select_for_update_of:
            sql += " FOR UPDATE OF r"
        models = [(model, len(model._meta.concrete_fields)) for model, _ in joined]
        converters = Reservation.objects.none().query.get_compiler(connection=connection).get_converters(cols)
        _pay_statement[connection.vendor] = (sql, models, converters)
    return _pay_statement[connection.vendor]


def reservation_lock_for_payment(*, user_id: int, reservation_id: object, now: dt.datetime) -> tuple[Reservation, bool]:
    """The user's own reservation, locked (``FOR UPDATE OF`` the reservation row alone), with
    its seat, performance, concert and user attached; and whether the user has another live
    hold for the same concert at ``now``. Someone else's is ReservationNotFound, like none.
    Caller is in a transaction."""
    assert connection.in_atomic_block, "reservation_lock_for_payment needs a transaction"
    pk = parse_id(reservation_id)
    if pk is None:
        raise ReservationNotFound()
    sql, models, converters = _pay_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(now), pk, user_id])
        row = cursor.fetchone()
    if row is None:
        raise ReservationNotFound()
    *values, holds_others = row
    if converters:  # SQLite's dates and times come back as text
        compiler = Reservation.objects.none().query.get_compiler(connection=connection)
        values = next(compiler.apply_converters([values], converters))
    instances, start = [], 0
    for model, width in models:
        instances.append(model.from_db(connection.alias, None, values[start : start + width]))
        start += width
    reservation, seat, performance, concert, user = instances
    performance.concert = concert
    reservation.performance, reservation.seat, reservation.user = performance, seat, user
    return reservation, bool(holds_others)

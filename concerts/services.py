"""Writes to the catalogue and to seat reservations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from concerts import selectors
from concerts.exceptions import (
    HoldLimitReached,
    ReservationNotFound,
    ReservationNotHeld,
    SeatNotFound,
    SeatUnavailable,
)
from concerts.locking import user_performance_lock
from concerts.models import Concert, Performance, Reservation, Seat
from queue_app import services as queue_services

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


def seat_hold(
    *,
    user_id: int,
    concert_id: int,
    date: dt.date,
    seat_number: int,
    now: dt.datetime | None = None,
) -> Reservation:
    """Hold one seat for HOLD_TTL_SECONDS. Of any number of simultaneous requests for
    a seat exactly one wins: the seat row is locked and the live reservation
    re-read under the lock; the partial unique constraint backs it up.

    Locks (see concerts.locking): user-performance lock, then seat, then the seat's
    live reservation; the holder's ACTIVE pass is extended to cover the hold.
    """
    now = now or timezone.now()
    concert = selectors.concert_get(concert_id=concert_id, priced=False)
    performance = selectors.bookable_performance(concert=concert, date=date, now=now)
    seat_id = Seat.objects.filter(performance=performance, number=seat_number).values_list("pk", flat=True).first()
    if seat_id is None:
        raise SeatNotFound(f"Seat {seat_number} does not exist for this date; seats are numbered 1 to 50.")
    held_until = now + dt.timedelta(seconds=settings.HOLD_TTL_SECONDS)
    try:
        with transaction.atomic():
            user_performance_lock(user_id=user_id, performance_id=performance.pk)
            mine = Reservation.objects.filter(
                selectors.live_reservations_q(now), user_id=user_id, performance=performance
            ).count()
            if mine >= settings.MAX_HOLDS_PER_USER:
                raise HoldLimitReached(
                    f"You already hold or own {mine} seats for this date, the most allowed "
                    f"({settings.MAX_HOLDS_PER_USER}). Pay for or release one first.",
                    limit=settings.MAX_HOLDS_PER_USER,
                )
            seat = Seat.objects.select_for_update().get(pk=seat_id)
            current = Reservation.objects.select_for_update().filter(seat=seat, status__in=Reservation.LIVE).first()
            if current is not None:
                if current.status == Reservation.Status.HELD and current.held_until <= now:
                    # Lapsed: it freed the seat the second it lapsed; record that now.
                    current.status = Reservation.Status.EXPIRED
                    current.save(update_fields=["status", "updated_at"])
                elif current.user_id == user_id:
                    raise SeatUnavailable(
                        f"You already hold seat {seat.number} (reservation {current.pk}).",
                        reservation_id=current.pk,
                    )
                else:
                    raise SeatUnavailable(f"Seat {seat.number} was just taken by someone else; please pick another.")
            reservation = Reservation.objects.create(
                user_id=user_id,
                performance=performance,
                seat=seat,
                price=seat.price,
                status=Reservation.Status.HELD,
                held_until=held_until,
            )
    except IntegrityError:
        raise SeatUnavailable(f"Seat {seat_number} was just taken by someone else; please pick another.") from None
    queue_services.pass_extend(user_id=user_id, concert_id=concert.pk, until=held_until, now=now)
    return reservation


def reservation_release(*, user_id: int, reservation_id: int, now: dt.datetime | None = None) -> Reservation:
    """The holder gives a live hold back: the seat is free at once."""
    now = now or timezone.now()
    with transaction.atomic():
        reservation = Reservation.objects.select_for_update().filter(pk=reservation_id, user_id=user_id).first()
        if reservation is None:
            raise ReservationNotFound()
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

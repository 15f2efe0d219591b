"""Pages: the catalogue, and (behind the waiting room) dates, the seat map and
holding a seat. Views are thin: they call the same services as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from concerts import live, selectors, services
from concerts.exceptions import DateNotAvailable, SeatUnavailable
from core.errors import ApplicationError
from core.parsing import parse_int
from core.replica import catalogue_read
from queue_app.gate import queue_gate_page

GRID_COLUMNS = 10


def concert_list(request: HttpRequest) -> HttpResponse:
    concerts = catalogue_read(lambda using: list(selectors.concert_list(using=using)))
    return render(request, "concerts/list.html", {"concerts": concerts})


def concert_detail(request: HttpRequest, concert_id: int) -> HttpResponse:
    concert = catalogue_read(lambda using: selectors.concert_get(concert_id=concert_id, using=using))
    _, last = selectors.booking_window()
    return render(
        request,
        "concerts/detail.html",
        {"concert": concert, "window_end": last, "is_open": concert.is_open()},
    )


@login_required
@queue_gate_page
def book_dates(request: HttpRequest, concert_id: int) -> HttpResponse:
    concert = selectors.concert_get(concert_id=concert_id, priced=False)
    dates = [
        {"date": r.date, "starts_at": r.starts_at, "available": r.available}
        for r in live.bookable_dates(concert_id=concert.pk)
    ]
    return render(request, "concerts/book_dates.html", {"concert": concert, "dates": dates})


@login_required
@queue_gate_page
def book_seats(request: HttpRequest, concert_id: int, date: str) -> HttpResponse:
    concert = selectors.concert_get(concert_id=concert_id, priced=False)
    day = selectors.parse_date(date)
    try:
        if day is None:
            raise DateNotAvailable()
        performance = live.bookable_date(concert_id=concert.pk, date=day)
    except DateNotAvailable:
        messages.error(request, "That date is not on sale. Pick one of the dates below.")
        return redirect("book-dates", concert_id=concert.pk)
    states = live.seat_map(performance_id=performance.performance_id, user_id=request.user.pk)
    rows = [states[i : i + GRID_COLUMNS] for i in range(0, len(states), GRID_COLUMNS)]
    grades = {}
    for state in states:
        grades.setdefault(state.grade, state.price)
    return render(
        request,
        "concerts/seat_map.html",
        {
            "concert": concert,
            "performance": performance,
            "rows": rows,
            "grades": grades,
            "available": sum(1 for s in states if s.status == selectors.SEAT_AVAILABLE),
        },
    )


@login_required
@queue_gate_page
@require_POST
def book_hold(request: HttpRequest, concert_id: int, date: str) -> HttpResponse:
    day = selectors.parse_date(date)
    seat_number = parse_int(request.POST.get("seat", ""))
    if seat_number is None:
        messages.error(request, "Pick a seat on the map.")
        return redirect("book-seats", concert_id=concert_id, date=date)
    try:
        if day is None:
            raise DateNotAvailable()
        reservation = services.seat_hold(
            user_id=request.user.pk, concert_id=concert_id, date=day, seat_number=seat_number
        )
    except SeatUnavailable as exc:
        if "reservation_id" in exc.extra:
            return redirect("checkout", reservation_id=exc.extra["reservation_id"])
        messages.error(request, f"Someone just took seat {seat_number}. The map is up to date: pick another seat.")
        return redirect("book-seats", concert_id=concert_id, date=date)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("book-seats", concert_id=concert_id, date=date)
    return redirect("checkout", reservation_id=reservation.pk)


@login_required
@require_POST
def release(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = selectors.reservation_get(user_id=request.user.pk, reservation_id=reservation_id)
    try:
        services.reservation_release(user_id=request.user.pk, reservation_id=reservation.pk)
        messages.success(request, f"Seat {reservation.seat.number} released.")
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    return redirect(
        "book-seats", concert_id=reservation.performance.concert_id, date=reservation.performance.date.isoformat()
    )

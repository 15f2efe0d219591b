from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from concerts import selectors
from concerts.exceptions import ConcertNotFound


def concert_list(request: HttpRequest) -> HttpResponse:
    return render(request, "concerts/list.html", {"concerts": selectors.concert_list()})


def concert_detail(request: HttpRequest, concert_id: int) -> HttpResponse:
    try:
        concert = selectors.concert_get(concert_id=concert_id)
    except ConcertNotFound:
        raise Http404("No such concert") from None
    _, last = selectors.booking_window()
    return render(
        request,
        "concerts/detail.html",
        {"concert": concert, "window_end": last, "is_open": concert.is_open()},
    )

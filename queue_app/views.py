"""Waiting-room pages: "Book" enters the line; the waiting room polls by itself."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from queue_app import hooks, services
from queue_app.exceptions import QueueTokenExpired, QueueTokenNotFound
from queue_app.gate import COOKIE, presented_token


def _with_pass_cookie(response: HttpResponse, token: str) -> HttpResponse:
    response.set_cookie(
        COOKIE,
        token,
        max_age=24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@login_required
@require_POST
def enter(request: HttpRequest, concert_id: int) -> HttpResponse:
    """The concert page's "Book" button: take (or find) a place in line."""
    concert = hooks.concert_get(concert_id)
    try:
        view, _ = services.pass_join(user_id=request.user.pk, concert_id=concert.pk)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("concert-detail", concert_id=concert.pk)
    target = "book-dates" if view.status == "ACTIVE" else "waiting-room"
    return _with_pass_cookie(redirect(target, concert_id=concert.pk), str(view.token))


@login_required
def waiting_room(request: HttpRequest, concert_id: int) -> HttpResponse:
    concert = hooks.concert_get(concert_id)
    token = presented_token(request)
    view = None
    if token is not None:
        try:
            # Only the signed-in fan's own pass: a cookie left by someone else is ignored.
            view = services.pass_status(token=token, user_id=request.user.pk)
        except (QueueTokenNotFound, QueueTokenExpired):
            view = None
    if view is not None and view.concert_id != concert.pk:
        view = None
    if view is not None and view.status == "ACTIVE":
        return redirect("book-dates", concert_id=concert.pk)
    return render(
        request,
        "queue_app/waiting_room.html",
        {
            "concert": concert,
            "pass": view.as_dict() if view else None,
            "idle_seconds": settings.QUEUE_WAIT_IDLE_SECONDS,
        },
    )

"""The booking gate: the caller's own ACTIVE pass for the concert, from the
`X-Queue-Token` header (API) or the `queue_token` cookie (pages)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.permissions import BasePermission

from core.parsing import parse_id
from queue_app import hooks
from queue_app.exceptions import QueueTokenNotActive
from queue_app.services import pass_is_active

HEADER = "HTTP_X_QUEUE_TOKEN"
COOKIE = "queue_token"
# The dates and seat-map reads may be a second stale (concerts.live), and so may their gate:
# a pass this process saw ACTIVE within the last second lets them through (services._RecentPasses).
READ_GATE_MAX_AGE = 1.0


def presented_token(request: HttpRequest) -> uuid.UUID | None:
    raw = request.META.get(HEADER) or request.COOKIES.get(COOKIE) or ""
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        return None


def has_active_pass(request: HttpRequest, concert_id: object, max_age: float = 0.0) -> bool:
    token = presented_token(request)
    concert = parse_id(concert_id)
    if token is None or concert is None:
        return False
    return pass_is_active(token=token, user_id=request.user.pk, concert_id=concert, max_age=max_age)


def require_active_pass(request: HttpRequest, concert_id: object, max_age: float = 0.0) -> None:
    """The gate as a call, for views that learn the concert from the request body
    (after validating it): 404 for an unknown concert, else 403 without an active pass."""
    if not has_active_pass(request, concert_id, max_age):
        hooks.concert_get(concert_id)
        raise QueueTokenNotActive()


class QueueGate(BasePermission):
    """DRF permission; list it after IsAuthenticated so authentication is checked first.

    The concert comes from the view's ``gate_concert_id(request)`` if it has one,
    else from the URL's ``pk``.
    """

    header_parameter = OpenApiParameter(
        "X-Queue-Token",
        OpenApiTypes.UUID,
        OpenApiParameter.HEADER,
        required=False,
        description="Your ACTIVE waiting-room pass (pages send it as the queue_token cookie instead); "
        "without one: 403 QUEUE_TOKEN_NOT_ACTIVE.",
    )

    # Seconds a pass this process saw ACTIVE may stand in for reading it (see READ_GATE_MAX_AGE).
    max_age = 0.0

    def has_permission(self, request, view) -> bool:
        getter = getattr(view, "gate_concert_id", None)
        concert_id = getter(request) if getter else view.kwargs.get("pk")
        require_active_pass(request, concert_id, self.max_age)
        return True


class ReadQueueGate(QueueGate):
    """The gate of the one-second-stale reads (dates, seat map)."""

    max_age = READ_GATE_MAX_AGE


def queue_gate_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Page decorator: without an active pass, go to the concert's waiting room."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, concert_id: int, *args, **kwargs) -> HttpResponse:
        if not has_active_pass(request, concert_id):
            return redirect("waiting-room", concert_id=concert_id)
        return view(request, concert_id, *args, **kwargs)

    return wrapper

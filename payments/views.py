"""Payment pages: pay from checkout, cancel a ticket from "my tickets"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from concerts.models import Reservation
from config.errors import ApplicationError
from payments import services
from queue_app.gate import has_active_pass
from wallet.exceptions import InsufficientBalance


def _mine(request: HttpRequest, reservation_id: int) -> Reservation:
    reservation = Reservation.objects.filter(pk=reservation_id, user=request.user).select_related("performance").first()
    if reservation is None:
        raise Http404("No such reservation")
    return reservation


@login_required
@require_POST
def pay(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = _mine(request, reservation_id)
    checkout = redirect("checkout", reservation_id=reservation.pk)
    if not has_active_pass(request, reservation.performance.concert_id):
        messages.error(request, "Your waiting-room pass has ended. Join the waiting room again to pay.")
        return checkout
    try:
        services.payment_pay(user_id=request.user.pk, reservation_id=reservation.pk)
    except InsufficientBalance as exc:
        shortfall = exc.extra["shortfall"]
        messages.error(
            request,
            format_html(
                'You need ₩{} more. <a href="{}?amount={}&next={}">Charge exactly ₩{}</a> and come back to pay.',
                f"{shortfall:,}",
                reverse("wallet"),
                shortfall,
                reverse("checkout", args=[reservation.pk]),
                f"{shortfall:,}",
            ),
        )
        return checkout
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return checkout
    messages.success(request, "Paid! Your ticket is confirmed and a confirmation email is on its way.")
    return checkout


@login_required
@require_POST
def cancel(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = _mine(request, reservation_id)
    try:
        services.reservation_cancel(user_id=request.user.pk, reservation_id=reservation.pk)
        messages.success(request, f"Reservation #{reservation.pk} cancelled.")
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    return redirect("my-tickets")

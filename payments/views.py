"""Payment pages: checkout (pay a hold), my tickets, and cancelling a ticket.
Views are thin: they call the same services as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from concerts import selectors as concert_selectors
from core.errors import ApplicationError
from payments import selectors, services
from queue_app.gate import has_active_pass
from wallet import selectors as wallet_selectors
from wallet.exceptions import InsufficientBalance

MY_TICKETS_SHOWN = 200


@login_required
def checkout(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = concert_selectors.reservation_get(user_id=request.user.pk, reservation_id=reservation_id)
    return render(
        request,
        "payments/checkout.html",
        {
            "reservation": reservation,
            "status": concert_selectors.effective_status(reservation),
            "balance": wallet_selectors.wallet_balance(user=request.user),
        },
    )


@login_required
def my_tickets(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = [
        {
            "r": r,
            "status": concert_selectors.effective_status(r, now),
            "cancellable": selectors.can_cancel(reservation=r, now=now),
        }
        for r in concert_selectors.user_reservations(user_id=request.user.pk)[:MY_TICKETS_SHOWN]
    ]
    return render(request, "payments/my_tickets.html", {"rows": rows})


@login_required
@require_POST
def pay(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = concert_selectors.reservation_get(user_id=request.user.pk, reservation_id=reservation_id)
    checkout_page = redirect("checkout", reservation_id=reservation.pk)
    if not has_active_pass(request, reservation.performance.concert_id):
        messages.error(request, "Your waiting-room pass has ended. Join the waiting room again to pay.")
        return checkout_page
    try:
        with transaction.atomic():  # a refusal rolls back this block alone; the page goes on
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
        return checkout_page
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return checkout_page
    messages.success(request, "Paid! Your ticket is confirmed and a confirmation email is on its way.")
    return checkout_page


@login_required
@require_POST
def cancel(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = concert_selectors.reservation_get(user_id=request.user.pk, reservation_id=reservation_id)
    try:
        services.reservation_cancel(user_id=request.user.pk, reservation_id=reservation.pk)
        messages.success(request, f"Reservation #{reservation.pk} cancelled.")
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    return redirect("my-tickets")

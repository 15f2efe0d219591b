"""The wallet page: balance, a charge form and the ledger. Calls the same services as the API."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import ApplicationError, ServiceUnavailable
from core.idempotency import fingerprint, run_idempotent
from core.parsing import parse_int
from wallet import selectors, services
from wallet.models import Charge
from wallet.services import won

TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
PAGE_SIZE = 20


class ChargeForm(forms.Form):
    amount = forms.IntegerField(
        label="Amount (won)",
        error_messages={
            "invalid": "Enter a whole number of won, e.g. 50000.",
            "required": "Enter an amount to charge.",
        },
    )
    # One token per rendered form: a double click or a resubmitted page charges once.
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limits = services.charge_limits()
        self.fields["amount"].widget.attrs.update(
            {"min": limits["charge_min"], "max": limits["charge_max"], "step": 1, "inputmode": "numeric"}
        )


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return ""


def _prefill(raw: str | None) -> int | None:
    """``?amount=N`` from a checkout's "charge the shortfall" link."""
    return parse_int(raw, low=1, high=10**15)


def _back(amount: int | None, next_url: str) -> HttpResponse:
    query = {k: v for k, v in (("amount", amount), ("next", next_url)) if v}
    return redirect(reverse("wallet") + (f"?{urlencode(query)}" if query else ""))


@login_required
def wallet_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ChargeForm(request.POST)
        if form.is_valid():
            return _charge(request, form)
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        form = ChargeForm(initial={"amount": _prefill(request.GET.get("amount")), "token": uuid.uuid4().hex})
    user = request.user
    balance = selectors.wallet_balance(user=user)
    pending = selectors.wallet_pending(user=user)
    limits = services.charge_limits()
    ledger = Paginator(selectors.ledger_for(user=user), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "balance": balance,
        "pending": pending,
        "pending_charges": selectors.charges_for(user=user).filter(status=Charge.Status.PENDING),
        "room": selectors.charge_room(balance=balance, pending=pending),
        "ledger": ledger,
        "next": _safe_next(request),
        **limits,
    }
    return render(request, "wallet/wallet.html", context)


def _charge(request: HttpRequest, form: ChargeForm) -> HttpResponse:
    amount = form.cleaned_data["amount"]
    next_url = _safe_next(request)

    def handler() -> tuple[int, dict]:
        result = services.wallet_charge(user=request.user, amount=amount)
        return 201, {"id": result.charge.pk, "amount": amount, "status": result.charge.status}

    token = form.cleaned_data["token"]
    try:
        if TOKEN_RE.match(token):
            fp = fingerprint(method="POST", path=request.path, body={"amount": amount})
            _, body, replayed = run_idempotent(
                user=request.user, scope="charge-page", key=token, fingerprint=fp, handler=handler
            )
        else:
            (_, body), replayed = handler(), False
    except ApplicationError as exc:
        if exc.code == "IDEMPOTENCY_KEY_REUSED":
            messages.error(request, "This form was already used for another amount; enter the amount again.")
        else:
            messages.error(request, exc.detail)
        return _back(amount, next_url)
    except DatabaseError:
        messages.error(request, ServiceUnavailable.default_detail)
        return _back(amount, next_url)
    if replayed:
        messages.info(request, "You had already sent this charge; it was not made twice.")
    if body["status"] == Charge.Status.SUCCEEDED:
        messages.success(request, f"{won(body['amount'])} was added to your balance.")
        return redirect(next_url) if next_url else _back(None, "")
    messages.warning(
        request,
        f"The card company has not confirmed your charge of {won(body['amount'])} yet. It will be added to your "
        "balance as soon as they do (usually within a minute) and never twice; there is no need to charge again.",
    )
    return _back(None, next_url)

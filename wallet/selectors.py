"""Reads of wallets, the ledger and charges (the integrity checks are in integrity.py)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import QuerySet, Sum

from core.parsing import parse_id
from wallet.exceptions import ChargeNotFound
from wallet.models import Charge, LedgerEntry, Wallet

logger = logging.getLogger(__name__)


def wallet_balance(*, user) -> int:
    """The user's balance; 0 before their first charge (no row is created by reading)."""
    return Wallet.objects.filter(user_id=user.pk).values_list("balance", flat=True).first() or 0


def charge_room(*, balance: int, pending: int) -> int:
    """Won that may still be charged: ``BALANCE_MAX`` less the balance and the charges not settled yet."""
    return max(0, settings.BALANCE_MAX - balance - pending)


def wallet_pending(*, user) -> int:
    """Won in charges the gateway has not settled yet."""
    total = Charge.objects.filter(user_id=user.pk, status=Charge.Status.PENDING).aggregate(s=Sum("amount"))["s"]
    return total or 0


def ledger_for(*, user) -> QuerySet[LedgerEntry]:
    """The user's ledger, newest first."""
    return LedgerEntry.objects.filter(wallet__user_id=user.pk).order_by("-id")


def charges_for(*, user) -> QuerySet[Charge]:
    return Charge.objects.filter(user_id=user.pk).order_by("-id")


def charge_get(*, user, charge_id: object) -> Charge:
    """One of the user's charges; someone else's is ``ChargeNotFound`` too."""
    pk = parse_id(charge_id)
    charge = Charge.objects.filter(user_id=user.pk, pk=pk).first() if pk is not None else None
    if charge is None:
        raise ChargeNotFound()
    return charge

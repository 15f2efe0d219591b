"""Reads of wallets, the ledger and charges, and the ledger's consistency checks."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce, Lag
from django.utils.module_loading import module_has_submodule

from wallet.exceptions import ChargeNotFound
from wallet.models import Charge, LedgerEntry, Wallet

logger = logging.getLogger(__name__)


def wallet_balance(*, user) -> int:
    """The user's balance; 0 before their first charge (no row is created by reading)."""
    return Wallet.objects.filter(user_id=user.pk).values_list("balance", flat=True).first() or 0


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
    try:
        pk = int(str(charge_id))
    except (TypeError, ValueError):
        raise ChargeNotFound() from None
    charge = Charge.objects.filter(user_id=user.pk, pk=pk).first() if 0 < pk < 2**63 else None
    if charge is None:
        raise ChargeNotFound()
    return charge


# --- Consistency checks (manage.py check_ledger, the daily task) -------------


@dataclass(frozen=True)
class LedgerProblem:
    check: str
    subject: str  # what is wrong, e.g. "wallet 7"
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"


def check_balances_match_ledger() -> list[LedgerProblem]:
    """Every wallet's balance equals the sum of its ledger rows (one query)."""
    sums = (
        LedgerEntry.objects.filter(wallet=OuterRef("pk"))
        .order_by()
        .values("wallet")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    rows = (
        Wallet.objects.annotate(ledger_sum=Coalesce(Subquery(sums, output_field=IntegerField()), Value(0)))
        .exclude(balance=F("ledger_sum"))
        .values_list("pk", "user_id", "balance", "ledger_sum")
    )
    return [
        LedgerProblem(
            "balance",
            f"wallet {pk} (user {user_id})",
            f"balance {balance} != ledger sum {total} (off by {balance - total})",
        )
        for pk, user_id, balance, total in rows
    ]


def check_balance_after_chain() -> list[LedgerProblem]:
    """Each row's balance_after is the previous row's plus its own amount."""
    chained = LedgerEntry.objects.annotate(
        previous=Window(Lag("balance_after", default=0), partition_by=[F("wallet_id")], order_by=F("id").asc())
    ).values_list("pk", "wallet_id", "previous", "amount", "balance_after")
    # Filtering on a window needs Django 4.2+; done in SQL, so only bad rows come back.
    bad = chained.filter(~Q(balance_after=F("previous") + F("amount")))
    return [
        LedgerProblem(
            "chain",
            f"ledger row {pk} (wallet {wallet_id})",
            f"{previous} {amount:+} should give {previous + amount}, row says {after}",
        )
        for pk, wallet_id, previous, amount, after in bad
    ]


def check_charges_credited_once() -> list[LedgerProblem]:
    """A SUCCEEDED charge has exactly one CHARGE row of its amount; no other charge has one."""
    problems = []
    credits = {
        ref: (n, total)
        for ref, n, total in LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE)
        .order_by()
        .values("reference")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .values_list("reference", "n", "total")
    }
    for pk, status, amount in Charge.objects.values_list("pk", "status", "amount").iterator():
        n, total = credits.pop(f"charge:{pk}", (0, 0))
        if status == Charge.Status.SUCCEEDED and (n, total) != (1, amount):
            problems.append(LedgerProblem("charge", f"charge {pk}", f"SUCCEEDED but credited {n} time(s), ₩{total}"))
        elif status != Charge.Status.SUCCEEDED and n:
            problems.append(LedgerProblem("charge", f"charge {pk}", f"{status} but credited {n} time(s), ₩{total}"))
    for ref in credits:
        problems.append(LedgerProblem("charge", ref, "CHARGE ledger row without such a charge"))
    return problems


LEDGER_CHECKS: list[Callable[[], list[LedgerProblem]]] = [
    check_balances_match_ledger,
    check_balance_after_chain,
    check_charges_credited_once,
]


def ledger_checks() -> list[Callable[[], list[LedgerProblem]]]:
    """The wallet's checks, then any ``LEDGER_CHECKS`` list in another app's ``selectors`` module.

    Other apps (payments: reservations vs. ledger rows) contribute checks by
    defining ``LEDGER_CHECKS = [fn, ...]`` in their ``selectors.py``; each
    function returns a list of ``LedgerProblem``.
    """
    checks = list(LEDGER_CHECKS)
    for config in apps.get_app_configs():
        if config.name == "wallet" or not module_has_submodule(config.module, "selectors"):
            continue
        module = importlib.import_module(f"{config.name}.selectors")
        checks.extend(getattr(module, "LEDGER_CHECKS", []))
    return checks


def ledger_problems() -> list[LedgerProblem]:
    problems: list[LedgerProblem] = []
    for check in ledger_checks():
        problems.extend(check())
    return problems

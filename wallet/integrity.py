"""The wallet's integrity checks (core.integrity): balances against the ledger."""

from __future__ import annotations

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, Window
from django.db.models.functions import Coalesce, Lag

from core.integrity import IntegrityProblem, integrity_check
from wallet.models import Charge, LedgerEntry, Wallet


@integrity_check
def check_balances_match_ledger() -> list[IntegrityProblem]:
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
        IntegrityProblem(
            "balance",
            f"wallet {pk} (user {user_id})",
            f"balance {balance} != ledger sum {total} (off by {balance - total})",
        )
        for pk, user_id, balance, total in rows
    ]


@integrity_check
def check_balance_after_chain() -> list[IntegrityProblem]:
    """Each row's balance_after is the previous row's plus its own amount."""
    chained = LedgerEntry.objects.annotate(
        previous=Window(Lag("balance_after", default=0), partition_by=[F("wallet_id")], order_by=F("id").asc())
    ).values_list("pk", "wallet_id", "previous", "amount", "balance_after")
    # Filtering on a window needs Django 4.2+; done in SQL, so only bad rows come back.
    bad = chained.filter(~Q(balance_after=F("previous") + F("amount")))
    return [
        IntegrityProblem(
            "chain",
            f"ledger row {pk} (wallet {wallet_id})",
            f"{previous} {amount:+} should give {previous + amount}, row says {after}",
        )
        for pk, wallet_id, previous, amount, after in bad
    ]


@integrity_check
def check_charges_credited_once() -> list[IntegrityProblem]:
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
            problems.append(IntegrityProblem("charge", f"charge {pk}", f"SUCCEEDED but credited {n} time(s), ₩{total}"))
        elif status != Charge.Status.SUCCEEDED and n:
            problems.append(IntegrityProblem("charge", f"charge {pk}", f"{status} but credited {n} time(s), ₩{total}"))
    for ref in credits:
        problems.append(IntegrityProblem("charge", ref, "CHARGE ledger row without such a charge"))
    return problems

"""Payments' integrity checks (core.integrity): tickets, payments and ledger rows agree."""

from __future__ import annotations

from django.db.models import Count, Q

from concerts.models import Reservation
from core.integrity import IntegrityProblem, integrity_check
from payments.models import Payment
from wallet.models import LedgerEntry


@integrity_check
def check_confirmed_reservations_are_paid() -> list[IntegrityProblem]:
    """Every CONFIRMED reservation has exactly one PAID payment, and vice versa."""
    problems = [
        IntegrityProblem("confirmed-paid", f"reservation {pk}", "CONFIRMED without a PAID payment")
        for pk in Reservation.objects.filter(status=Reservation.Status.CONFIRMED)
        .exclude(payment__status=Payment.Status.PAID)
        .values_list("pk", flat=True)
    ]
    problems += [
        IntegrityProblem("confirmed-paid", f"payment {pk}", f"PAID but its reservation is {status}")
        for pk, status in Payment.objects.filter(status=Payment.Status.PAID)
        .exclude(reservation__status=Reservation.Status.CONFIRMED)
        .values_list("pk", "reservation__status")
    ]
    return problems


@integrity_check
def check_payments_match_ledger() -> list[IntegrityProblem]:
    """Each payment has its one debit (and, once refunded, its one refund) in the ledger."""
    problems = []
    debits = dict(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT, reference__startswith="payment:").values_list(
            "reference", "amount"
        )
    )
    refunds = dict(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, reference__startswith="refund:").values_list(
            "reference", "amount"
        )
    )
    for pk, amount, status in Payment.objects.values_list("pk", "amount", "status"):
        if debits.get(f"payment:{pk}") != -amount:
            problems.append(IntegrityProblem("payment-ledger", f"payment {pk}", f"no debit of {amount} in the ledger"))
        refunded = refunds.get(f"refund:{pk}")
        if (status == Payment.Status.REFUNDED) != (refunded == amount):
            problems.append(
                IntegrityProblem("payment-ledger", f"payment {pk}", f"{status} but the ledger refund is {refunded}")
            )
    return problems


@integrity_check
def check_no_seat_sold_twice() -> list[IntegrityProblem]:
    return [
        IntegrityProblem("seat-sold-twice", f"seat {seat}", f"{n} CONFIRMED reservations")
        for seat, n in Reservation.objects.values("seat")
        .annotate(n=Count("pk", filter=Q(status=Reservation.Status.CONFIRMED)))
        .filter(n__gt=1)
        .values_list("seat", "n")
    ]

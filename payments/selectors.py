from __future__ import annotations

from django.db.models import Count, Q

from concerts.models import Reservation
from payments.exceptions import PaymentNotFound
from payments.models import Payment
from wallet.models import LedgerEntry
from wallet.selectors import LedgerProblem


def payment_get(*, user_id: int, payment_id: object) -> Payment:
    try:
        pk = int(str(payment_id))
    except ValueError:
        raise PaymentNotFound() from None
    payment = Payment.objects.filter(pk=pk, user_id=user_id).first()
    if payment is None:
        raise PaymentNotFound()
    return payment


def payment_data(*, payment: Payment, balance: int | None = None) -> dict:
    """The contract's payment object; ``balance`` is the balance right after paying."""
    if balance is None:
        balance = (
            LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PAYMENT, reference=f"payment:{payment.pk}")
            .values_list("balance_after", flat=True)
            .first()
        )
    return {
        "id": payment.pk,
        "reservation_id": payment.reservation_id,
        "amount": payment.amount,
        "status": payment.status,
        "paid_at": payment.paid_at,
        "balance": balance,
    }


# --- Consistency checks, run by manage.py check_ledger and the daily task -----


def check_confirmed_reservations_are_paid() -> list[LedgerProblem]:
    """Every CONFIRMED reservation has exactly one PAID payment, and vice versa."""
    problems = [
        LedgerProblem("confirmed-paid", f"reservation {pk}", "CONFIRMED without a PAID payment")
        for pk in Reservation.objects.filter(status=Reservation.Status.CONFIRMED)
        .exclude(payment__status=Payment.Status.PAID)
        .values_list("pk", flat=True)
    ]
    problems += [
        LedgerProblem("confirmed-paid", f"payment {pk}", f"PAID but its reservation is {status}")
        for pk, status in Payment.objects.filter(status=Payment.Status.PAID)
        .exclude(reservation__status=Reservation.Status.CONFIRMED)
        .values_list("pk", "reservation__status")
    ]
    return problems


def check_payments_match_ledger() -> list[LedgerProblem]:
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
            problems.append(LedgerProblem("payment-ledger", f"payment {pk}", f"no debit of {amount} in the ledger"))
        refunded = refunds.get(f"refund:{pk}")
        if (status == Payment.Status.REFUNDED) != (refunded == amount):
            problems.append(
                LedgerProblem("payment-ledger", f"payment {pk}", f"{status} but the ledger refund is {refunded}")
            )
    return problems


def check_no_seat_sold_twice() -> list[LedgerProblem]:
    return [
        LedgerProblem("seat-sold-twice", f"seat {seat}", f"{n} CONFIRMED reservations")
        for seat, n in Reservation.objects.values("seat")
        .annotate(n=Count("pk", filter=Q(status=Reservation.Status.CONFIRMED)))
        .filter(n__gt=1)
        .values_list("seat", "n")
    ]


LEDGER_CHECKS = [check_confirmed_reservations_are_paid, check_payments_match_ledger, check_no_seat_sold_twice]

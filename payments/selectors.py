from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from concerts.models import Performance, Reservation
from core.parsing import parse_id
from payments.exceptions import AlreadyPaid, PaymentNotFound
from payments.models import Payment
from wallet.models import LedgerEntry


def cancel_deadline(*, performance: Performance) -> dt.datetime:
    """The last moment a fan may cancel a ticket for ``performance`` themselves."""
    return performance.starts_at - dt.timedelta(hours=settings.CANCEL_DEADLINE_HOURS)


def can_cancel(*, reservation: Reservation, now: dt.datetime | None = None) -> bool:
    """A paid ticket the fan may still cancel (and be refunded for) at ``now``: up to the deadline, inclusive."""
    return reservation.status == Reservation.Status.CONFIRMED and (now or timezone.now()) <= cancel_deadline(
        performance=reservation.performance
    )


def ensure_not_paid(*, reservation_id: int, status: str) -> None:
    """Paying twice is refused with ALREADY_PAID, before any other check of a payment."""
    if status == Reservation.Status.CONFIRMED:
        raise AlreadyPaid(f"Reservation {reservation_id} is already paid; the ticket is yours.")


def payment_get(*, user_id: int, payment_id: object) -> Payment:
    pk = parse_id(payment_id)
    payment = Payment.objects.filter(pk=pk, user_id=user_id).first() if pk is not None else None
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

"""Paying a hold from the balance, and refunds. Each in one transaction, with the
locks in the global order of core.locking: reservation, then wallet, then the
queue pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from concerts import selectors as concert_selectors
from concerts import services as concert_services
from concerts.exceptions import ReservationNotHeld
from concerts.models import Reservation
from core.errors import ApplicationError
from payments import selectors
from payments.exceptions import HoldExpired
from payments.models import Payment
from payments.outbox import outbox_add
from queue_app import services as queue_services
from wallet import services as wallet_services

User = get_user_model()


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment
    balance: int


def payment_pay(
    *,
    user_id: int,
    reservation_id: int,
    now: dt.datetime | None = None,
    gate: Callable[[int], None] | None = None,
) -> PaymentResult:
    """Pay a live hold from the balance: debit, reservation CONFIRMED (its seat is
    SOLD), a Payment row, the confirmation email in the outbox, and the queue pass
    ended once the user holds nothing else for that concert - all or nothing.

    Checks, in the contract's order, under the reservation lock: ownership (404),
    already paid (409), then ``gate(concert_id)`` if given (the API's waiting-room
    check, which raises), hold lapsed (409), balance (409 with the shortfall).

    One transaction of five statements on PostgreSQL: the reservation locked with what
    the email needs, the payment inserted with the reservation confirmed, the debit with
    its ledger row, the pass ended, the outbox row (plus the gate's pass lookup).

    It opens no savepoint inside a caller's transaction: a refusal then dooms that
    transaction, so a caller that goes on using it afterwards opens a block of its own.
    """
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        reservation, holds_others = concert_selectors.reservation_lock_for_payment(
            user_id=user_id, reservation_id=reservation_id, now=now
        )
        selectors.ensure_not_paid(reservation_id=reservation.pk, status=reservation.status)
        concert = reservation.performance.concert
        if gate is not None:
            gate(concert.pk)
        if not reservation.is_live_hold(now):
            status = concert_selectors.effective_status(reservation, now)
            raise HoldExpired(
                f"Your hold on seat {reservation.seat.number} is {status.lower()}: nothing was charged. "
                "Hold a seat again to pay for it."
            )
        payment = _payment_insert(reservation=reservation, now=now)
        entry = wallet_services.wallet_debit(
            user=reservation.user, amount=reservation.price, reference=f"payment:{payment.pk}", now=now
        )
        if not holds_others:
            queue_services.pass_end(user_id=user_id, concert_id=concert.pk, reason="paid", now=now)
        outbox_add(
            key=f"payment:{payment.pk}:paid",
            to=reservation.user.email,
            subject=f"Your ticket: {concert.title}, {reservation.performance.date:%b %d}, "
            f"seat {reservation.seat.number}",
            template="confirmation",
            context={"reservation": reservation, "payment": payment, "concert": concert, "user": reservation.user},
            now=now,
        )
    return PaymentResult(payment=payment, balance=entry.balance_after)


# The reservation confirmed and its payment inserted: one statement on PostgreSQL (a
# data-modifying WITH runs to completion whether or not the INSERT reads it), two elsewhere.
_CONFIRM_SQL = "UPDATE concerts_reservation SET status = %(confirmed)s, updated_at = %(now)s WHERE id = %(reservation)s"
_PAYMENT_SQL = """
INSERT INTO payments_payment (user_id, reservation_id, amount, status, paid_at, refunded_by_staff)
VALUES (%(user)s, %(reservation)s, %(amount)s, %(paid)s, %(now)s, %(staff)s)
RETURNING id
"""


def _payment_insert(*, reservation: Reservation, now: dt.datetime) -> Payment:
    """Confirm the locked, live hold and record its payment. Caller holds the reservation lock."""
    params = {
        "confirmed": Reservation.Status.CONFIRMED.value,
        "now": connection.ops.adapt_datetimefield_value(now),
        "reservation": reservation.pk,
        "user": reservation.user_id,
        "amount": reservation.price,
        "paid": Payment.Status.PAID.value,
        "staff": False,
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH confirmed AS ({_CONFIRM_SQL}) {_PAYMENT_SQL}", params)
        else:
            cursor.execute(_CONFIRM_SQL, params)
            cursor.execute(_PAYMENT_SQL, params)
        (pk,) = cursor.fetchone()
    reservation.status = Reservation.Status.CONFIRMED
    reservation.updated_at = now
    payment = Payment(
        pk=pk, user_id=reservation.user_id, reservation=reservation, amount=reservation.price, paid_at=now
    )
    payment._state.adding = False
    payment._state.db = connection.alias
    return payment


def payment_refund(*, reservation_id: int, user_id: int | None = None, now: dt.datetime | None = None) -> PaymentResult:
    """Refund a CONFIRMED ticket to the balance: REFUND ledger row, reservation
    REFUNDED (the seat is free again), payment REFUNDED, an email. Exactly once
    under concurrent clicks (reservation lock, status re-checked under it).

    ``user_id`` given: the fan cancels, allowed up to CANCEL_DEADLINE_HOURS before
    the show. None: staff, any time.
    """
    now = now or timezone.now()
    with transaction.atomic():
        reservation = concert_selectors.reservation_get(user_id=user_id, reservation_id=reservation_id, for_update=True)
        if reservation.status != Reservation.Status.CONFIRMED:
            raise ReservationNotHeld(
                f"Reservation {reservation.pk} is {concert_selectors.effective_status(reservation, now).lower()}: "
                "there is nothing to cancel."
            )
        if user_id is not None and not selectors.can_cancel(reservation=reservation, now=now):
            deadline = selectors.cancel_deadline(performance=reservation.performance)
            raise ReservationNotHeld(
                f"Tickets can be cancelled up to {settings.CANCEL_DEADLINE_HOURS} hours before the show "
                f"(until {timezone.localtime(deadline):%Y-%m-%d %H:%M}); this one can no longer be cancelled."
            )
        payment = Payment.objects.select_for_update().get(reservation=reservation)
        entry = wallet_services.wallet_refund(
            user=reservation.user, amount=payment.amount, reference=f"refund:{payment.pk}"
        )
        reservation.status = Reservation.Status.REFUNDED
        reservation.save(update_fields=["status", "updated_at"])
        payment.status = Payment.Status.REFUNDED
        payment.refunded_at = now
        payment.refunded_by_staff = user_id is None
        payment.save(update_fields=["status", "refunded_at", "refunded_by_staff"])
        concert = reservation.performance.concert
        outbox_add(
            key=f"payment:{payment.pk}:refunded",
            to=reservation.user.email,
            subject=f"Refunded: {concert.title}, seat {reservation.seat.number}",
            template="refund",
            context={"reservation": reservation, "payment": payment, "concert": concert, "user": reservation.user},
        )
    return PaymentResult(payment=payment, balance=entry.balance_after)


def payment_refund_by_staff(*, reservation_ids) -> tuple[int, list[tuple[int, str]]]:
    """Staff refunds, each in its own transaction. Returns (refunded, [(id, reason)])."""
    done, failures = 0, []
    for reservation_id in sorted(reservation_ids):
        try:
            payment_refund(reservation_id=reservation_id)
            done += 1
        except ApplicationError as exc:
            failures.append((reservation_id, exc.detail))
    return done, failures


def reservation_cancel(*, user_id: int, reservation_id: int, now: dt.datetime | None = None) -> None:
    """A fan's DELETE of a reservation: release a live hold, or cancel a paid
    ticket in time (refunded to the balance)."""
    status = Reservation.objects.filter(pk=reservation_id, user_id=user_id).values_list("status", flat=True).first()
    if status == Reservation.Status.CONFIRMED:
        payment_refund(reservation_id=reservation_id, user_id=user_id, now=now)
    else:
        concert_services.reservation_release(user_id=user_id, reservation_id=reservation_id, now=now)

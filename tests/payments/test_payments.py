"""Paying holds from the balance, refunds, and the never-lost confirmation email."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from concerts import services as concert_services
from concerts.models import Reservation
from core.integrity import integrity_problems
from core.models import IdempotencyRecord
from payments import outbox, services
from payments.models import OutboxEmail, Payment
from tests.concerts.test_holds import fan, hold
from tests.concurrency import raise_first_error, run_concurrently
from tests.core.test_errors import assert_problem
from tests.factories import ConcertFactory, UserFactory, make_performance
from wallet import services as wallet_services
from wallet.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db


def fund(user, amount):
    wallet_services.wallet_credit(user=user, amount=amount, kind="CHARGE", reference=f"test:{user.pk}:{amount}")


def pay(client, reservation_id, **headers):
    return client.post("/api/v1/payments", {"reservation_id": reservation_id}, format="json", **headers)


def funded_hold(seat_number):
    """A fan with ₩500,000 charged (through the gateway, so the books check out) and a hold on
    a seat of a new concert; seats 31-50 cost ₩80,000."""
    performance = make_performance(ConcertFactory())
    client = fan(performance.concert)
    wallet_services.wallet_charge(user=client.user, amount=500_000)
    return client, hold(client, performance, seat_number).json()["id"]


def status_of(token):
    return APIClient().get("/api/v1/queue/status", HTTP_X_QUEUE_TOKEN=token)


@pytest.fixture
def performance():
    return make_performance(ConcertFactory(), days=5)


def test_pay_confirms_debits_ends_pass_and_emails(performance, django_capture_on_commit_callbacks):
    client = fan(performance.concert)
    fund(client.user, 200_000)
    reservation = hold(client, performance, 15).json()
    with django_capture_on_commit_callbacks(execute=True):
        res = pay(client, reservation["id"])
    assert res.status_code == 201, res.content
    body = res.json()
    assert set(body) == {"id", "reservation_id", "amount", "status", "paid_at", "balance"}
    assert body["status"] == "PAID" and body["amount"] == 110_000 and body["balance"] == 90_000
    assert body["paid_at"].endswith("+09:00")
    assert Reservation.objects.get(pk=reservation["id"]).status == "CONFIRMED"
    seats = Reservation.objects.filter(seat__number=15, status="CONFIRMED").count()
    assert seats == 1
    assert Wallet.objects.get(user=client.user).balance == 90_000
    entry = LedgerEntry.objects.get(kind="PAYMENT")
    assert entry.amount == -110_000 and entry.reference == f"payment:{body['id']}"
    # The pass ended (no other holds): the slot goes to the next in line.
    assert_problem(status_of(client._credentials["HTTP_X_QUEUE_TOKEN"]), 410, "QUEUE_TOKEN_EXPIRED")
    # The email went out after commit, with what the fan needs.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [client.user.email]
    assert "seat 15" in message.subject
    assert f"#{reservation['id']}" in message.body and "₩110,000" in message.body
    assert message.alternatives and "text/html" in message.alternatives[0][1]
    assert OutboxEmail.objects.get().status == "SENT"
    assert client.get(f"/api/v1/payments/{body['id']}").json() == body


def test_pass_stays_while_another_hold_is_live(performance):
    client = fan(performance.concert)
    fund(client.user, 1_000_000)
    first = hold(client, performance, 1).json()
    hold(client, performance, 2)
    assert pay(client, first["id"]).status_code == 201
    assert status_of(client._credentials["HTTP_X_QUEUE_TOKEN"]).json()["status"] == "ACTIVE"


def test_insufficient_balance_gives_the_exact_shortfall(performance):
    client = fan(performance.concert)
    fund(client.user, 100_000)
    reservation = hold(client, performance, 1).json()  # VIP 150,000
    body = assert_problem(pay(client, reservation["id"]), 409, "INSUFFICIENT_BALANCE")
    assert body["balance"] == 100_000 and body["required"] == 150_000 and body["shortfall"] == 50_000
    assert "₩50,000" in body["detail"]
    assert Reservation.objects.get(pk=reservation["id"]).status == "HELD"
    assert not Payment.objects.exists() and Wallet.objects.get(user=client.user).balance == 100_000


def test_checks_in_the_contract_order(performance, settings):
    settings.HOLD_TTL_SECONDS = 60
    owner, stranger = fan(performance.concert), fan(performance.concert)
    reservation = hold(owner, performance, 3).json()
    # Someone else's reservation, or none: 404 (never a hint that it exists).
    assert_problem(pay(stranger, reservation["id"]), 404, "RESERVATION_NOT_FOUND")
    assert_problem(pay(owner, 999_999), 404, "RESERVATION_NOT_FOUND")
    # Lapsed hold, even with no money: HOLD_EXPIRED comes before the balance.
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        assert_problem(pay(owner, reservation["id"]), 409, "HOLD_EXPIRED")
    fund(owner.user, 500_000)
    assert pay(owner, reservation["id"]).status_code == 201
    assert_problem(pay(owner, reservation["id"]), 409, "ALREADY_PAID")


def test_payment_needs_auth_and_an_active_pass(performance):
    client = fan(performance.concert)
    fund(client.user, 500_000)
    reservation = hold(client, performance, 3).json()
    assert_problem(APIClient().post("/api/v1/payments", {"reservation_id": 1}, format="json"), 401, "NOT_AUTHENTICATED")
    client.delete(f"/api/v1/queue/tokens/{client._credentials['HTTP_X_QUEUE_TOKEN']}")
    assert_problem(pay(client, reservation["id"]), 403, "QUEUE_TOKEN_NOT_ACTIVE")
    for bad in ({"reservation_id": "x"}, {}, {"reservation_id": 10**30}):
        assert_problem(client.post("/api/v1/payments", bad, format="json"), 400, "VALIDATION_ERROR")


def test_idempotent_payment_replays_without_moving_money(performance):
    client = fan(performance.concert)
    fund(client.user, 500_000)
    reservation = hold(client, performance, 20).json()
    other = hold(client, performance, 21).json()
    first = pay(client, reservation["id"], HTTP_IDEMPOTENCY_KEY="pay-1")
    again = pay(client, reservation["id"], HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert LedgerEntry.objects.filter(kind="PAYMENT").count() == 1
    assert_problem(pay(client, other["id"], HTTP_IDEMPOTENCY_KEY="pay-1"), 422, "IDEMPOTENCY_KEY_REUSED")


def test_a_failed_keyed_payment_leaves_no_claim_and_the_key_works_once_funded(performance):
    client = fan(performance.concert)
    reservation = hold(client, performance, 20).json()
    assert_problem(pay(client, reservation["id"], HTTP_IDEMPOTENCY_KEY="pay-2"), 409, "INSUFFICIENT_BALANCE")
    assert not IdempotencyRecord.objects.exists()
    fund(client.user, 500_000)
    first = pay(client, reservation["id"], HTTP_IDEMPOTENCY_KEY="pay-2")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    record = IdempotencyRecord.objects.get()
    assert (record.response_status, record.response_body) == (201, first.json())


def test_an_expired_key_is_taken_over_by_a_new_payment(performance):
    client = fan(performance.concert)
    fund(client.user, 500_000)
    first, second = (hold(client, performance, n).json() for n in (20, 21))
    assert pay(client, first["id"], HTTP_IDEMPOTENCY_KEY="pay-3").status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    res = pay(client, second["id"], HTTP_IDEMPOTENCY_KEY="pay-3")
    assert res.status_code == 201 and res.json()["reservation_id"] == second["id"]
    assert Payment.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_with_one_key_pay_once_and_replay_the_first():
    client, reservation_id = funded_hold(35)

    def attempt(_):
        res = pay(client, reservation_id, HTTP_IDEMPOTENCY_KEY="same-key")
        return res.status_code, json.dumps(res.json(), sort_keys=True), res.headers.get("Idempotent-Replayed")

    results = raise_first_error(run_concurrently(6, attempt))
    assert {code for code, _, _ in results} == {201}
    assert len({body for _, body, _ in results}) == 1
    assert sorted(str(replayed) for _, _, replayed in results) == ["None"] + ["true"] * 5
    assert Payment.objects.count() == LedgerEntry.objects.filter(kind="PAYMENT").count() == 1
    assert Wallet.objects.get(user=client.user).balance == 420_000
    assert integrity_problems() == []


@pytest.mark.django_db(transaction=True)
def test_a_keyed_payment_waits_for_a_claim_still_running_then_gets_503(settings):
    """The claim of a payment still running is an uncommitted row: a repeat waits on it, lock
    timeout after lock timeout, until IDEMPOTENCY_WAIT_SECONDS, then 503; once it is gone the
    key works."""
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.6
    client, reservation_id = funded_hold(36)
    claimed, release = threading.Event(), threading.Event()

    def running_first():
        try:
            with transaction.atomic():
                now = timezone.now()
                IdempotencyRecord.objects.create(
                    user=client.user, scope="payment", key="busy", fingerprint="x", claimed_at=now, created_at=now
                )
                claimed.set()
                release.wait(10)
                raise RuntimeError("the first request failed")
        except RuntimeError:
            pass
        finally:
            connection.close()

    first = threading.Thread(target=running_first)
    first.start()
    try:
        assert claimed.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        started = time.monotonic()
        res = pay(client, reservation_id, HTTP_IDEMPOTENCY_KEY="busy")
        assert time.monotonic() - started >= 0.6
        body = assert_problem(res, 503, "SERVICE_UNAVAILABLE")
        assert "still being processed" in body["detail"]
    finally:
        release.set()
        first.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert pay(client, reservation_id, HTTP_IDEMPOTENCY_KEY="busy").status_code == 201


def test_fan_cancels_in_time_and_gets_refunded_once(performance, django_capture_on_commit_callbacks):
    client = fan(performance.concert)
    fund(client.user, 200_000)
    reservation = hold(client, performance, 40).json()
    pay(client, reservation["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/reservations/{reservation['id']}").status_code == 204
    assert Reservation.objects.get(pk=reservation["id"]).status == "REFUNDED"
    assert Payment.objects.get().status == "REFUNDED"
    assert Wallet.objects.get(user=client.user).balance == 200_000
    assert LedgerEntry.objects.filter(kind="REFUND").count() == 1
    assert_problem(client.delete(f"/api/v1/reservations/{reservation['id']}"), 409, "RESERVATION_NOT_HELD")
    assert any("Refunded" in m.subject for m in mail.outbox)
    # The seat is free again.
    again = fan(performance.concert)
    assert hold(again, performance, 40).status_code == 201


def test_cancel_after_the_deadline_is_refused(settings):
    settings.CANCEL_DEADLINE_HOURS = 24
    performance = make_performance(ConcertFactory(), days=1)  # tomorrow 19:30: under 24 h away after 19:30 today
    client = fan(performance.concert)
    fund(client.user, 500_000)
    reservation = hold(client, performance, 1).json()
    pay(client, reservation["id"])
    with time_machine.travel(performance.starts_at - dt.timedelta(hours=23)):
        body = assert_problem(client.delete(f"/api/v1/reservations/{reservation['id']}"), 409, "RESERVATION_NOT_HELD")
    assert "24 hours" in body["detail"]
    # Staff may refund any time.
    services.payment_refund(reservation_id=reservation["id"])
    assert Reservation.objects.get(pk=reservation["id"]).status == "REFUNDED"


@pytest.mark.django_db(transaction=True)
def test_two_holds_with_money_for_one_exactly_one_paid():
    performance = make_performance(ConcertFactory())
    client = fan(performance.concert)
    fund(client.user, 150_000)
    ids = [hold(client, performance, n).json()["id"] for n in (1, 2)]  # 150,000 each
    codes = Counter(raise_first_error(run_concurrently(len(ids), lambda i: pay(client, ids[i]).status_code)))
    assert codes == {201: 1, 409: 1}
    assert Wallet.objects.get(user=client.user).balance == 0
    assert Reservation.objects.filter(status="CONFIRMED").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_from_one_wallet_never_overdraw_and_match_the_ledger():
    """Eight holds paid at once from money for three: the conditional debit lets exactly three
    through, each refusal reports the balance left, and the books agree."""
    concert = ConcertFactory()
    performances = [make_performance(concert, days=d) for d in (3, 4)]
    client = fan(concert)
    wallet_services.wallet_charge(user=client.user, amount=250_000)
    ids = [hold(client, p, n).json()["id"] for p in performances for n in (31, 32, 33, 34)]  # 80,000 each

    def attempt(i):
        res = pay(client, ids[i])
        return res.status_code, res.json()

    results = raise_first_error(run_concurrently(len(ids), attempt))
    assert Counter(code for code, _ in results) == {201: 3, 409: 5}
    refusals = [body for code, body in results if code == 409]
    assert {(b["code"], b["balance"], b["shortfall"]) for b in refusals} == {("INSUFFICIENT_BALANCE", 10_000, 70_000)}
    assert sorted(body["balance"] for code, body in results if code == 201) == [10_000, 90_000, 170_000]
    assert Wallet.objects.get(user=client.user).balance == 10_000
    assert LedgerEntry.objects.filter(kind="PAYMENT").count() == Payment.objects.count() == 3
    assert Reservation.objects.filter(status="CONFIRMED").count() == 3
    assert OutboxEmail.objects.count() == 3
    assert integrity_problems() == []


@pytest.mark.django_db(transaction=True)
def test_one_hold_paid_by_many_clicks_at_once_is_paid_once():
    client, reservation_id = funded_hold(40)

    def attempt(_):
        res = pay(client, reservation_id)
        return res.status_code, res.json().get("code")

    results = Counter(raise_first_error(run_concurrently(6, attempt)))
    assert results == {(201, None): 1, (409, "ALREADY_PAID"): 5}
    assert Wallet.objects.get(user=client.user).balance == 420_000
    assert LedgerEntry.objects.filter(kind="PAYMENT").count() == Payment.objects.count() == 1
    assert integrity_problems() == []


@pytest.mark.django_db(transaction=True)
def test_payment_racing_the_lapse_and_the_sweeper_is_paid_or_expired_never_both(settings):
    settings.HOLD_TTL_SECONDS = 1
    performance = make_performance(ConcertFactory())
    for round_ in range(6):
        client = fan(performance.concert)
        fund(client.user, 500_000)
        reservation_id = hold(client, performance, round_ + 1).json()["id"]

        def race(i, client=client, reservation_id=reservation_id):
            # Both in flight at once: the sweeper, and the payment of the hold about to lapse.
            return concert_services.holds_sweep() if i == 0 else pay(client, reservation_id).status_code

        # Around the lapse: half the rounds just before it, half just after.
        at = timezone.now() + dt.timedelta(milliseconds=900 if round_ % 2 else 1100)
        with time_machine.travel(at):
            _swept, code = raise_first_error(run_concurrently(2, race))
        reservation = Reservation.objects.get(pk=reservation_id)
        balance = Wallet.objects.get(user=client.user).balance
        if code == 201:
            assert reservation.status == "CONFIRMED" and balance == 500_000 - reservation.price
            assert Payment.objects.filter(reservation=reservation).count() == 1
        else:
            assert code == 409
            assert reservation.status in {"HELD", "EXPIRED"} and balance == 500_000
            assert not Payment.objects.filter(reservation=reservation).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_cancel_clicks_refund_once(performance):
    client = fan(performance.concert)
    fund(client.user, 500_000)
    reservation = hold(client, performance, 9).json()
    pay(client, reservation["id"])

    def attempt(_):
        return client.delete(f"/api/v1/reservations/{reservation['id']}").status_code

    codes = Counter(raise_first_error(run_concurrently(5, attempt)))
    assert codes == {204: 1, 409: 4}
    assert LedgerEntry.objects.filter(kind="REFUND").count() == 1
    assert Wallet.objects.get(user=client.user).balance == 500_000


def test_outbox_survives_a_failing_mail_backend_and_sends_once(performance, settings):
    client = fan(performance.concert)
    fund(client.user, 500_000)
    reservation = hold(client, performance, 30).json()
    settings.EMAIL_BACKEND = "tests.payments.failing_mail.FailingBackend"
    pay(client, reservation["id"])  # the payment commits even though mail is down
    email = OutboxEmail.objects.get()
    assert email.status == "PENDING"
    assert outbox.outbox_dispatch() == 0
    email.refresh_from_db()
    assert email.attempts == 1 and "SMTP down" in email.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox.outbox_dispatch() == 0  # backing off: not due yet
    later = timezone.now() + dt.timedelta(minutes=5)
    assert outbox.outbox_dispatch(now=later) == 1
    assert outbox.outbox_dispatch(now=later) == 0
    assert outbox.outbox_send(email_id=email.pk, now=later) is False
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.status == "SENT" and email.attempts == 2


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_email_once(performance):
    users = [UserFactory() for _ in range(20)]
    for user in users:
        OutboxEmail.objects.create(
            key=f"test:{user.pk}", to=user.email, subject="hi", text="hi", next_attempt_at=timezone.now()
        )
    sent = sum(raise_first_error(run_concurrently(2, lambda i: outbox.outbox_dispatch())))
    assert sent == 20
    assert len(mail.outbox) == 20
    assert OutboxEmail.objects.filter(status="SENT").count() == 20


def test_a_payment_costs_a_fixed_number_of_statements(performance, settings, django_assert_num_queries):
    """So they cannot creep back: one transaction (the test's own makes BEGIN/COMMIT a SAVEPOINT
    and its RELEASE) of the reservation locked with what the email needs and whether other holds
    are live, the gate's pass lookup, the payment inserted with the reservation confirmed, the
    debit with its ledger row, the pass ended and the outbox row. (The email's dispatch runs
    after commit, which the test's transaction never reaches.)"""
    settings.QUEUE_BACKEND = "database"
    client = fan(performance.concert)
    fund(client.user, 1_000_000)
    reservation_id = hold(client, performance, 3).json()["id"]
    with django_assert_num_queries(PAYMENT_STATEMENTS):
        assert pay(client, reservation_id).status_code == 201


PAYMENT_STATEMENTS = 8


def test_a_keyed_payment_adds_two_statements_and_no_commit(performance, settings, django_assert_num_queries):
    """With an Idempotency-Key the claim is the transaction's first statement and the response
    is stored before it commits: two statements more, in the same transaction."""
    settings.QUEUE_BACKEND = "database"
    client = fan(performance.concert)
    fund(client.user, 1_000_000)
    reservation_id = hold(client, performance, 3).json()["id"]
    with django_assert_num_queries(PAYMENT_STATEMENTS + 2) as captured:
        assert pay(client, reservation_id, HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    sql = [q["sql"] for q in captured.captured_queries]
    assert "core_idempotencyrecord" in sql[1] and "core_idempotencyrecord" in sql[-2]
    assert not any(s.startswith(("COMMIT", "BEGIN")) for s in sql)

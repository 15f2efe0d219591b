"""A seeded random concurrent workload of charges, holds, payments and refunds,
after which every invariant holds and check_ledger is clean."""

from __future__ import annotations

import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from concerts.models import Reservation
from payments import integrity
from payments.models import Payment
from tests.concerts.test_holds import fan, hold
from tests.concurrency import raise_first_error, run_concurrently
from tests.factories import ConcertFactory, make_performance
from wallet.models import Wallet

SEED = 20261124


@pytest.mark.django_db(transaction=True)
def test_random_concurrent_workload_keeps_the_books(settings):
    settings.MAX_HOLDS_PER_USER = 50
    concert = ConcertFactory()
    performances = [make_performance(concert, days=d) for d in (3, 4)]
    clients = [fan(concert) for _ in range(12)]

    def worker(index: int) -> list[int]:
        rng = random.Random(SEED + index)
        client = clients[index]
        codes = []
        for _ in range(25):
            op = rng.choice(["charge", "hold", "hold", "pay", "pay", "cancel"])
            if op == "charge":
                res = client.post("/api/v1/wallet/charges", {"amount": rng.randrange(50_000, 400_000)}, format="json")
            elif op == "hold":
                res = hold(client, rng.choice(performances), rng.randint(1, 50))
            else:
                mine = list(
                    Reservation.objects.filter(
                        user=client.user, status="HELD" if op == "pay" else "CONFIRMED"
                    ).values_list("pk", flat=True)
                )
                if not mine:
                    continue
                target = rng.choice(mine)
                if op == "pay":
                    res = client.post("/api/v1/payments", {"reservation_id": target}, format="json")
                else:
                    res = client.delete(f"/api/v1/reservations/{target}")
            codes.append(res.status_code)
        return codes

    # A fan whose pass ended after paying gets 403 for further holds; the books must balance regardless.
    results = raise_first_error(run_concurrently(len(clients), worker))
    codes = [code for result in results for code in result]
    assert not [c for c in codes if c >= 500], codes
    assert 201 in codes and 409 in codes

    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "consistent" in out.getvalue()
    assert not Wallet.objects.filter(balance__lt=0).exists()
    assert integrity.check_no_seat_sold_twice() == []
    paid = Payment.objects.filter(status="PAID").count()
    assert paid == Reservation.objects.filter(status="CONFIRMED").count()


@pytest.mark.django_db
def test_check_ledger_reports_a_confirmed_reservation_without_payment():
    performance = make_performance(ConcertFactory())
    client = fan(performance.concert)
    reservation = hold(client, performance, 1).json()
    Reservation.objects.filter(pk=reservation["id"]).update(status="CONFIRMED")
    problems = integrity.check_confirmed_reservations_are_paid()
    assert [p.subject for p in problems] == [f"reservation {reservation['id']}"]
    with pytest.raises(CommandError, match="1 ledger problem"):
        call_command("check_ledger", stdout=StringIO(), stderr=StringIO())

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from core.integrity import integrity_problems
from tests.concurrency import run_concurrently
from tests.factories import UserFactory
from wallet import selectors, services
from wallet.exceptions import InsufficientBalance
from wallet.models import Charge, LedgerEntry, Wallet

pytestmark = pytest.mark.django_db


def test_wallet_get_or_create_is_idempotent(user):
    first = services.wallet_get_or_create(user=user)
    assert services.wallet_get_or_create(user=user).pk == first.pk
    assert first.balance == 0
    assert selectors.wallet_balance(user=UserFactory()) == 0


def test_debit_writes_a_negative_row(user):
    services.wallet_charge(user=user, amount=10_000)
    entry = services.wallet_debit(user=user, amount=4_000, reference="payment:1")
    assert (entry.kind, entry.amount, entry.balance_after) == ("PAYMENT", -4_000, 6_000)
    assert Wallet.objects.get(user=user).balance == 6_000


def test_insufficient_balance_carries_the_numbers(user, settings):
    settings.CHARGE_MIN = 1_000
    services.wallet_charge(user=user, amount=10_000)
    with pytest.raises(InsufficientBalance) as err:
        services.wallet_debit(user=user, amount=10_500, reference="payment:1")
    assert err.value.http_status == 409 and err.value.code == "INSUFFICIENT_BALANCE"
    assert err.value.extra == {"balance": 10_000, "required": 10_500, "shortfall": 500}
    assert "₩10,000" in err.value.detail and "₩1,000" in err.value.detail  # the minimum charge covers it
    with pytest.raises(InsufficientBalance) as err:
        services.wallet_debit(user=user, amount=25_000, reference="payment:1")
    assert "charge at least ₩15,000" in err.value.detail


def test_debit_inside_an_outer_transaction(user):
    """The payments app debits inside its own atomic block; a refusal leaves that block usable."""
    services.wallet_charge(user=user, amount=1_000)
    with transaction.atomic():
        with pytest.raises(InsufficientBalance):
            services.wallet_debit(user=user, amount=5_000, reference="payment:1")
        services.wallet_debit(user=user, amount=1_000, reference="payment:2")
    assert Wallet.objects.get(user=user).balance == 0
    assert LedgerEntry.objects.filter(kind="PAYMENT").count() == 1


def test_a_refused_debit_rereads_the_balance_under_the_lock(user, monkeypatch):
    """The conditional UPDATE matched nothing, but by the time the wallet is locked a credit has
    landed: the debit goes through instead of reporting a shortfall that no longer exists."""
    services.wallet_charge(user=user, amount=5_000)
    real, calls = services._debit, []

    def refused_once(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real(**kwargs)

    monkeypatch.setattr(services, "_debit", refused_once)
    entry = services.wallet_debit(user=user, amount=5_000, reference="payment:1")
    assert len(calls) == 2 and entry.balance_after == 0
    assert Wallet.objects.get(user=user).balance == 0


def test_debit_without_a_wallet_is_a_shortfall_of_everything(user):
    with pytest.raises(InsufficientBalance) as err:
        services.wallet_debit(user=user, amount=700, reference="payment:1")
    assert err.value.extra == {"balance": 0, "required": 700, "shortfall": 700}
    assert not LedgerEntry.objects.exists()


def test_rolled_back_outer_transaction_undoes_the_debit(user):
    services.wallet_charge(user=user, amount=1_000)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.wallet_debit(user=user, amount=1_000, reference="payment:1")
        raise RuntimeError("seat already sold")
    assert Wallet.objects.get(user=user).balance == 1_000
    assert LedgerEntry.objects.count() == 1


def test_refund_is_once_per_reference(user):
    services.wallet_charge(user=user, amount=9_000)
    services.wallet_debit(user=user, amount=9_000, reference="payment:7")
    first = services.wallet_refund(user=user, amount=9_000, reference="payment:7")
    again = services.wallet_refund(user=user, amount=9_000, reference="payment:7")
    assert first.pk == again.pk
    assert Wallet.objects.get(user=user).balance == 9_000


def test_one_debit_per_reference_in_the_database(user):
    services.wallet_charge(user=user, amount=9_000)
    services.wallet_debit(user=user, amount=1_000, reference="payment:7")
    with pytest.raises(IntegrityError), transaction.atomic():
        services.wallet_debit(user=user, amount=1_000, reference="payment:7")


def test_helpers_refuse_nonsense(user):
    for amount in (0, -1, 1.5, True, "5"):
        with pytest.raises(ValueError):
            services.wallet_credit(user=user, amount=amount, kind="CHARGE", reference="x")
    with pytest.raises(ValueError):
        services.wallet_credit(user=user, amount=1, kind="PAYMENT", reference="x")


def test_balance_can_never_go_negative_in_the_database(user):
    wallet = services.wallet_get_or_create(user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(balance=-1)


@pytest.mark.django_db(transaction=True)
def test_100_concurrent_charges_of_one_user(settings):
    settings.BALANCE_MAX = 10**9
    user = UserFactory()
    amounts = [1_000 + i for i in range(100)]

    def post(i):
        client = APIClient()
        client.force_authenticate(user)
        return client.post("/api/v1/wallet/charges", {"amount": amounts[i]}, format="json").status_code

    # 100 charges at once, on as many threads as PostgreSQL has connections to spare.
    statuses = run_concurrently(100, post)
    assert statuses == [201] * 100
    wallet = Wallet.objects.get(user=user)
    assert wallet.balance == sum(amounts)
    assert LedgerEntry.objects.filter(wallet=wallet).count() == 100
    assert Charge.objects.filter(status="SUCCEEDED").count() == 100
    assert integrity_problems() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_overdraw():
    user = UserFactory()
    services.wallet_charge(user=user, amount=10_000)

    def pay(i):
        try:
            services.wallet_debit(user=user, amount=3_000, reference=f"payment:{i}")
            return "paid"
        except InsufficientBalance:
            return "refused"

    results = run_concurrently(10, pay)
    assert results.count("paid") == 3 and results.count("refused") == 7
    assert Wallet.objects.get(user=user).balance == 1_000
    assert integrity_problems() == []

import logging

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from core import tasks as core_tasks
from core.management.commands.check_ledger import Command
from tests.factories import UserFactory
from wallet import integrity, services
from wallet.models import Charge, LedgerEntry, Wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def workload():
    users = [UserFactory() for _ in range(3)]
    for n, user in enumerate(users, start=1):
        services.wallet_charge(user=user, amount=20_000 * n)
        services.wallet_charge(user=user, amount=5_000)
        services.wallet_debit(user=user, amount=7_000, reference=f"payment:{n}")
        services.wallet_refund(user=user, amount=7_000, reference=f"payment:{n}")
        services.wallet_debit(user=user, amount=3_000, reference=f"payment:{n + 10}")
    return users


def test_check_ledger_is_clean_after_a_workload(workload, capsys):
    call_command("check_ledger")
    assert "Ledger consistent" in capsys.readouterr().out
    assert core_tasks.check_ledger_task() == 0


def test_check_ledger_detects_a_tampered_balance(workload, capsys):
    wallet = Wallet.objects.get(user=workload[1])
    Wallet.objects.filter(pk=wallet.pk).update(balance=F("balance") + 1)
    with pytest.raises(CommandError, match="1 ledger problem"):
        call_command("check_ledger")
    err = capsys.readouterr().err
    assert f"wallet {wallet.pk}" in err and "off by 1" in err


@pytest.mark.django_db(transaction=True)
def test_check_ledger_exits_non_zero_from_the_command_line(workload):
    argv = ["manage.py", "check_ledger"]
    Command().run_from_argv(argv)  # clean: returns normally, exit status 0
    Wallet.objects.filter(user=workload[0]).update(balance=0)
    with pytest.raises(SystemExit) as exc:
        Command().run_from_argv(argv)
    assert exc.value.code == 1


def test_check_ledger_detects_a_broken_chain(workload):
    entry = LedgerEntry.objects.filter(kind="PAYMENT").order_by("id").first()
    LedgerEntry.objects.filter(pk=entry.pk).update(balance_after=F("balance_after") + 500)
    problems = integrity.check_balance_after_chain()
    # The edited row and the one after it no longer chain.
    assert {p.subject.split()[2] for p in problems} >= {str(entry.pk)}
    assert all(p.check == "chain" for p in problems)


def test_check_ledger_detects_a_double_credit(workload):
    charge = Charge.objects.filter(status="SUCCEEDED").first()
    Charge.objects.filter(pk=charge.pk).update(status="DECLINED")
    problems = integrity.check_charges_credited_once()
    assert [p.subject for p in problems] == [f"charge {charge.pk}"]


def test_daily_task_logs_an_error_per_mismatch(workload, caplog):
    Wallet.objects.filter(user=workload[2]).update(balance=F("balance") + 2)
    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        assert core_tasks.check_ledger_task() == 1
    assert "ledger check failed" in caplog.text

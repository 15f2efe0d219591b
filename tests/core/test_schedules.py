import pytest
from django.core.management import call_command
from django.utils.module_loading import import_string
from django_q.models import Schedule

from core.schedules import declared_schedules

pytestmark = pytest.mark.django_db


def test_setup_schedules_upserts_idempotently_and_removes_stale():
    Schedule.objects.create(name="wallet.retired_job", func="wallet.tasks.nothing", schedule_type="D")
    Schedule.objects.create(name="someone.elses", func="x.y", schedule_type="D")
    call_command("setup_schedules")
    call_command("setup_schedules")
    names = set(Schedule.objects.values_list("name", flat=True))
    declared = set(declared_schedules())
    assert declared >= {
        "queue_app.purge_expired_passes",
        "concerts.sweep_lapsed_holds",
        "payments.dispatch_outbox",
        "wallet.reconcile_pending_charges",
    }
    assert names == declared | {"someone.elses"}
    sweep = Schedule.objects.get(name="concerts.sweep_lapsed_holds")
    assert sweep.func == "concerts.tasks.sweep_lapsed_holds" and sweep.minutes == 1 and sweep.repeats == -1


def test_every_declared_schedule_is_valid_and_points_at_a_real_function():
    declared = declared_schedules()
    assert set(declared) == {
        "core.check_ledger",
        "core.purge_idempotency_records",
        "queue_app.purge_expired_passes",
        "concerts.sweep_lapsed_holds",
        "payments.dispatch_outbox",
        "wallet.reconcile_pending_charges",
    }
    for name, spec in declared.items():
        assert name.split(".")[0] == spec["func"].split(".")[0], "a job is named after the app that declares it"
        assert callable(import_string(spec["func"]))
        assert spec["schedule_type"] in dict(Schedule.TYPE)
        Schedule(name=name, **spec).full_clean()

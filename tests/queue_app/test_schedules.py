import pytest
from django.core.management import call_command
from django_q.models import Schedule

from queue_app.management.commands.setup_schedules import declared_schedules

pytestmark = pytest.mark.django_db


def test_setup_schedules_upserts_idempotently_and_removes_stale():
    Schedule.objects.create(name="wallet.retired_job", func="wallet.tasks.nothing", schedule_type="D")
    Schedule.objects.create(name="someone.elses", func="x.y", schedule_type="D")
    call_command("setup_schedules")
    call_command("setup_schedules")
    names = set(Schedule.objects.values_list("name", flat=True))
    declared = {s["name"] for s in declared_schedules()}
    assert declared >= {
        "queue_app.purge_expired_passes",
        "concerts.sweep_lapsed_holds",
        "payments.dispatch_outbox",
        "wallet.reconcile_pending_charges",
    }
    assert names == declared | {"someone.elses"}
    sweep = Schedule.objects.get(name="concerts.sweep_lapsed_holds")
    assert sweep.func == "concerts.tasks.sweep_lapsed_holds" and sweep.minutes == 1 and sweep.repeats == -1

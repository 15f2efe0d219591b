"""Upsert every app's periodic jobs (the `SCHEDULES` list in its tasks.py) into
django-q2's Schedule table, and remove ours that are no longer declared.
Idempotent; `make run` and `make serve` call it. Nobody creates schedules by hand."""

from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django_q.models import Schedule

OWNED_APPS = ("queue_app", "concerts", "wallet", "payments")


def declared_schedules() -> list[dict]:
    declared = []
    for label in OWNED_APPS:
        if not apps.is_installed(label):
            continue
        try:
            module = import_module(f"{label}.tasks")
        except ModuleNotFoundError:
            continue
        declared.extend(getattr(module, "SCHEDULES", []))
    return declared


class Command(BaseCommand):
    help = "Create or update the periodic schedules declared in code."

    def handle(self, *args, **options):
        declared = declared_schedules()
        with transaction.atomic():
            for spec in declared:
                spec = dict(spec)
                name = spec.pop("name")
                Schedule.objects.update_or_create(name=name, defaults={"repeats": -1, **spec})
            prefixes = tuple(f"{label}." for label in OWNED_APPS)
            stale = Schedule.objects.exclude(name__in=[s["name"] for s in declared]).filter(
                name__regex=r"^(" + "|".join(p.replace(".", r"\.") for p in prefixes) + ")"
            )
            removed = stale.delete()[0]
        self.stdout.write(f"{len(declared)} schedules upserted, {removed} removed.")

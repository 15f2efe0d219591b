"""`manage.py setup_schedules`: upsert every app's declared periodic jobs (core.schedules)
into django-q2's Schedule table and remove ours that are no longer declared. Idempotent."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django_q.models import Schedule

from core.schedules import declared_schedules


class Command(BaseCommand):
    help = "Create or update the periodic schedules declared in code."

    def handle(self, *args, **options):
        declared = declared_schedules()
        with transaction.atomic():
            for name, spec in declared.items():
                Schedule.objects.update_or_create(name=name, defaults={"repeats": -1, **spec})
            # Jobs named after one of our apps but no longer declared were ours: remove them.
            ours = r"^(" + "|".join(c.label for c in apps.get_app_configs()) + r")\."
            removed = Schedule.objects.filter(name__regex=ours).exclude(name__in=list(declared)).delete()[0]
        self.stdout.write(f"{len(declared)} schedules upserted, {removed} removed.")

"""Periodic jobs, declared by the apps that own them.

Each app declares its jobs in its own ``schedules.py`` with ``schedule(...)``; they
are found with Django's ``autodiscover_modules`` and upserted into django-q2's
Schedule table by ``manage.py setup_schedules`` (``make run`` and ``make serve``
call it). Every job is named ``<app label>.<job>``; the command removes jobs of
those apps that are no longer declared, so nobody creates schedules by hand.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import autodiscover_modules

_declared: dict[str, dict[str, Any]] = {}


def schedule(*, name: str, func: str, schedule_type: str, **options: Any) -> None:
    """Declare a periodic job; ``name`` must start with the declaring app's label."""
    _declared[name] = {"func": func, "schedule_type": schedule_type, **options}


def declared_schedules() -> dict[str, dict[str, Any]]:
    """name -> django-q2 Schedule fields, for every app's declared jobs."""
    autodiscover_modules("schedules")
    return dict(_declared)


# The shared plumbing's own jobs.
schedule(name="core.check_ledger", func="core.tasks.check_ledger_task", schedule_type="D")
schedule(name="core.purge_idempotency_records", func="core.tasks.purge_idempotency_records", schedule_type="H")

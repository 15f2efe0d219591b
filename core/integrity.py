"""Integrity checks of the books, contributed by the apps that own the data.

Each app lists its checks in its own ``integrity.py`` with the ``@integrity_check``
decorator; they are found with Django's ``autodiscover_modules``, so a new app's
checks join ``manage.py check_ledger`` and the daily task without editing this file.
Every check returns a list of ``IntegrityProblem`` (empty when the books agree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class IntegrityProblem:
    check: str
    subject: str  # what is wrong, e.g. "wallet 7"
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"


Check = Callable[[], list[IntegrityProblem]]
_checks: list[Check] = []


def integrity_check(check: Check) -> Check:
    """Register a check (a decorator for functions in an app's ``integrity.py``)."""
    if check not in _checks:
        _checks.append(check)
    return check


def integrity_checks() -> list[Check]:
    """Every registered check, in app order."""
    autodiscover_modules("integrity")
    return list(_checks)


def integrity_problems() -> list[IntegrityProblem]:
    problems: list[IntegrityProblem] = []
    for check in integrity_checks():
        problems.extend(check())
    return problems

"""django-q2 entry points. Thin: each calls a service or selector.

``SCHEDULES`` is upserted into django_q's Schedule table by the project's
schedule command (``make run``); every job is safe to run twice at once.
"""

from __future__ import annotations

import logging

from wallet import selectors, services
from wallet.idempotency import idempotency_purge

logger = logging.getLogger(__name__)

SCHEDULES = [
    {
        "name": "wallet.reconcile_pending_charges",
        "func": "wallet.tasks.reconcile_pending_charges",
        "schedule_type": "I",
        "minutes": 1,
    },
    {
        "name": "wallet.check_ledger",
        "func": "wallet.tasks.check_ledger_task",
        "schedule_type": "D",
    },
    {
        "name": "wallet.purge_idempotency_records",
        "func": "wallet.tasks.purge_idempotency_records",
        "schedule_type": "H",
    },
]


def reconcile_pending_charges() -> dict[str, int]:
    """Settle charges whose gateway answer never arrived."""
    return vars(services.charge_reconcile_pending())


def check_ledger_task() -> int:
    """Log an error for every ledger inconsistency; returns how many."""
    problems = selectors.ledger_problems()
    for problem in problems:
        logger.error("ledger check failed: %s", problem)
    if not problems:
        logger.info("ledger check clean")
    return len(problems)


def purge_idempotency_records() -> int:
    return idempotency_purge()

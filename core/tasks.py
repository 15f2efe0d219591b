"""django-q2 entry points of the shared plumbing (thin: they call services)."""

from __future__ import annotations

import logging

from core.idempotency import idempotency_purge
from core.integrity import integrity_problems

logger = logging.getLogger(__name__)


def check_ledger_task() -> int:
    """Log an error for every integrity problem; returns how many."""
    problems = integrity_problems()
    for problem in problems:
        logger.error("ledger check failed: %s", problem)
    if not problems:
        logger.info("ledger check clean")
    return len(problems)


def purge_idempotency_records() -> int:
    return idempotency_purge()

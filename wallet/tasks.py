"""django-q2 entry points of the wallet (thin: they call services); schedules in schedules.py."""

from __future__ import annotations

from wallet import services


def reconcile_pending_charges() -> dict[str, int]:
    """Settle charges whose gateway answer never arrived."""
    return vars(services.charge_reconcile_pending())

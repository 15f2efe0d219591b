"""django-q2 entry points of the booking app (thin: they call services); schedules in schedules.py."""

from concerts import services


def sweep_lapsed_holds() -> int:
    return services.holds_sweep()

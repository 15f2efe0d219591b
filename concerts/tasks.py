"""django-q2 entry points of the booking app (thin: they call services)."""

from concerts import services

SCHEDULES = [
    {
        "name": "concerts.sweep_lapsed_holds",
        "func": "concerts.tasks.sweep_lapsed_holds",
        "schedule_type": "I",
        "minutes": 1,
    },
]


def sweep_lapsed_holds() -> int:
    return services.holds_sweep()

"""django-q2 entry points of the waiting room (thin: they call services)."""

from queue_app import services

SCHEDULES = [
    {
        "name": "queue_app.purge_expired_passes",
        "func": "queue_app.tasks.purge_expired_passes",
        "schedule_type": "H",
    },
]


def purge_expired_passes() -> int:
    return services.queue_purge()

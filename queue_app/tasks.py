"""django-q2 entry points of the waiting room (thin: they call services); schedules in schedules.py."""

from queue_app import services


def purge_expired_passes() -> int:
    return services.queue_purge()

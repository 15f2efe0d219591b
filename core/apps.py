from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared HTTP plumbing (problem errors, rate limits, pagination, logging, idempotency keys)
    and the registries other apps plug into (schedules, integrity checks)."""

    name = "core"
    verbose_name = "Service"

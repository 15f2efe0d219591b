from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared HTTP plumbing (problem errors, rate limits, pagination, logging, idempotency keys)
    and the registries other apps plug into (schedules, integrity checks)."""

    name = "core"
    verbose_name = "Service"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from core.authentication import connect_signals
        from core.cookies import on_logout

        user_logged_out.connect(on_logout, dispatch_uid="core.cookies.on_logout")
        connect_signals()

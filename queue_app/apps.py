from django.apps import AppConfig


class QueueAppConfig(AppConfig):
    name = "queue_app"
    verbose_name = "Waiting room"

    def ready(self) -> None:
        from core.cookies import register_private_cookie
        from core.logs import token_prefix
        from core.middleware import register_request_log_field
        from queue_app.gate import COOKIE, HEADER

        # The pass cookie is its holder's: another person signing in on that browser never uses it.
        register_private_cookie(COOKIE)
        # Each request line names the waiting-room pass it carried (a prefix only: never replayable).
        register_request_log_field(
            "queue_token", lambda request: token_prefix(request.META.get(HEADER) or request.COOKIES.get(COOKIE))
        )

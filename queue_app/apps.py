from django.apps import AppConfig


class QueueAppConfig(AppConfig):
    name = "queue_app"
    verbose_name = "Waiting room"

    def ready(self) -> None:
        from core.logs import token_prefix
        from core.middleware import register_request_log_field
        from queue_app.gate import COOKIE, HEADER

        # Each request line names the waiting-room pass it carried (a prefix only: never replayable).
        register_request_log_field(
            "queue_token", lambda request: token_prefix(request.META.get(HEADER) or request.COOKIES.get(COOKIE))
        )

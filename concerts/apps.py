from django.apps import AppConfig


class ConcertsConfig(AppConfig):
    name = "concerts"
    verbose_name = "Concerts and bookings"

    def ready(self) -> None:
        from concerts import selectors
        from queue_app import hooks

        hooks.register(concert_get=selectors.concert_get)

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Paths as the contract writes them (no trailing slash), with one tolerated."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-up and API tokens; Django's own auth views serve login, logout and passwords."""

    name = "accounts"
    verbose_name = "Accounts"

"""`manage.py demo_staff`: say how to sign in to the admin. On the embedded SQLite
demo (debug on) it also makes sure a demo staff account exists; on any other
database it creates nothing and prints the one command that makes a real one."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection

DEMO_USERNAME = "staff"
DEMO_PASSWORD = "encore-demo-staff"


def is_embedded_demo() -> bool:
    """Debug on and the embedded SQLite database: a throwaway demo on one machine."""
    return settings.DEBUG and connection.vendor == "sqlite"


class Command(BaseCommand):
    help = "Print how to sign in as staff (and create the demo staff account on the SQLite demo)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the site is served.")

    def handle(self, *args, url: str, **options) -> None:
        admin_url = url.rstrip("/") + "/admin/"
        if not is_embedded_demo():
            self.stdout.write(
                f"Staff: sign in at {admin_url} with an account made by "
                "`DATABASE_URL=<the same URL> .venv/bin/python manage.py createsuperuser` "
                "(no demo account outside the SQLite demo)."
            )
            return
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "staff@encore.example", "is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        if user.check_password(DEMO_PASSWORD):
            self.stdout.write(f"Staff: sign in at {admin_url} as {DEMO_USERNAME} / {DEMO_PASSWORD} (SQLite demo only).")
        else:
            self.stdout.write(f"Staff: sign in at {admin_url} as {DEMO_USERNAME} (its password was changed).")

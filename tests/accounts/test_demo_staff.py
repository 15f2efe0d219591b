import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.management.commands import demo_staff
from tools.procs import without_redis

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_outside_the_sqlite_demo_no_account_is_made_and_the_command_is_printed(capsys):
    call_command("demo_staff")
    out = capsys.readouterr().out
    assert "manage.py createsuperuser" in out
    assert not get_user_model().objects.filter(username=demo_staff.DEMO_USERNAME).exists()


@pytest.mark.slow
def test_the_embedded_sqlite_demo_gets_a_staff_account_that_signs_in(tmp_path):
    """What `make run` does before serving, on a fresh SQLite file, in a process of its own."""
    env = {k: v for k, v in without_redis(os.environ).items() if not k.startswith(("PYTEST_", "QUEUE_BACKEND"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", DJANGO_DEBUG="1")

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "--noinput", "-v0")
    first = manage("demo_staff", "--url", "http://127.0.0.1:8123")
    again = manage("demo_staff", "--url", "http://127.0.0.1:8123")
    assert f"http://127.0.0.1:8123/admin/ as staff / {demo_staff.DEMO_PASSWORD}" in first
    assert first == again
    check = (
        "from django.contrib.auth import authenticate; "
        f"u = authenticate(username='staff', password='{demo_staff.DEMO_PASSWORD}'); "
        "print(u is not None and u.is_staff and u.is_superuser)"
    )
    assert manage("shell", "-v0", "-c", check).strip() == "True"

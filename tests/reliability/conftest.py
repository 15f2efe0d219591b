from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from tests.reliability.procs import base_env
from tools.procs import Processes


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path)
    yield procs
    procs.kill_all()


@pytest.fixture
def db_settings(transactional_db) -> dict:
    """The test database's connection settings (committed data is visible to subprocesses)."""
    return dict(connection.settings_dict)


@pytest.fixture
def env(db_settings, tmp_path):
    """Build a subprocess environment for the test database; keyword arguments override."""
    mail = tmp_path / "mail"
    mail.mkdir()

    def make(**extra: str) -> dict[str, str]:
        # The same SECRET_KEY as this process: django-q2 signs the tasks queued here.
        return base_env(db_settings, ENCORE_MAIL_DIR=str(mail), SECRET_KEY=settings.SECRET_KEY, **extra)

    make.mail_dir = mail
    return make

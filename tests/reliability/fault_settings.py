"""Settings for the fault tests' subprocesses: the real settings, plus emails written
to files (one per message, see `mailsink`) so the tests can count what was sent."""

import os
import tempfile

from config.settings import *  # noqa: F403

EMAIL_BACKEND = "tests.reliability.mailsink.EmailBackend"
EMAIL_FILE_PATH = os.environ.get("ENCORE_MAIL_DIR") or os.path.join(tempfile.gettempdir(), "encore-mail")
# Users created by the tests have MD5 hashes (tests/conftest.py, for speed).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
# Pages render without a collectstatic manifest (debug is off in these subprocesses).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

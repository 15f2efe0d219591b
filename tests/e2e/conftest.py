"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

The live server runs in this process (a thread), so the tests share its database
(transactional tests), its settings (the ``settings`` fixture) and its mail outbox.
Playwright's sync API keeps an event loop running in the main thread while it is
started, which Django's async-safety check would take for an async context: the
browser is started once per package, with DJANGO_ALLOW_ASYNC_UNSAFE set only while it
runs, and stopped before the rest of the suite goes on.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

from tests.e2e.support import DESKTOP, EXPECT_TIMEOUT_MS, login

CHROMIUM = os.environ.get("ENCORE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the package; never downloaded, always the system one."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium (CI does this in .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture(autouse=True)
def e2e_settings(settings):
    """Short clocks so that a whole booking fits in seconds."""
    settings.QUEUE_ADMIT_INTERVAL_SECONDS = 1
    settings.QUEUE_ADMIT_BATCH = 1
    settings.HOLD_TTL_SECONDS = 60
    settings.CANCEL_DEADLINE_HOURS = 24
    settings.PAYMENT_GATEWAY_URL = None
    return settings


@pytest.fixture
def new_page(browser, live_server, transactional_db) -> Iterator[Callable]:
    """``new_page(user=None, viewport=DESKTOP)``: a page in a fresh browser context (its own
    cookies), logged in as ``user`` when given. Afterwards: no script error happened and
    nothing was fetched from anywhere but our server. Closed before the database is flushed."""
    contexts = []
    problems: list[str] = []

    def make(user=None, viewport=None):
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport or DESKTOP,
            locale="en-US",
            timezone_id=django_settings.TIME_ZONE,
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        context.on(
            "request",
            lambda request: (
                request.url.startswith((live_server.url, "data:", "about:"))
                or problems.append(f"fetched from elsewhere: {request.url}")
            ),
        )
        contexts.append(context)
        if user is not None:
            login(context, user, live_server.url)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"script error on {page.url}: {exc}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, problems


@pytest.fixture
def ticker(transactional_db) -> Iterator[threading.Event]:
    """The admission ticker in a background thread on a one-second grid, as `make run` has it."""
    from queue_app.ticker import run_ticker

    stop = threading.Event()

    def run() -> None:
        try:
            run_ticker(stop=stop, interval=1)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="e2e-ticker", daemon=True)
    thread.start()
    yield stop
    stop.set()
    thread.join(timeout=10)

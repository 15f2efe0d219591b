"""The catalogue on a real streaming replica (`tests/engines/postgres.py`: a primary of the
test's own and its `pg_basebackup -R` replica): the concert list and detail read there,
nothing that decides a booking does, and a replica that lags or dies never breaks booking."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.engines.postgres import PostgresPair
from tests.reliability.procs import base_env, http, start_web
from tools.procs import REPO, wait_until

pytestmark = pytest.mark.slow

# Run on the pair's primary, in a process of its own: a concert with a date, and a fan
# admitted to it (database waiting room) with a charged balance.
SEED = """
import json, django
django.setup()
from tests.factories import ConcertFactory, admitted_http_fan, make_performance
from wallet import services
concert = ConcertFactory(title=TITLE)
if FAN:
    performance = make_performance(concert, days=3)
    user, headers = admitted_http_fan(concert)
    services.wallet_credit(user=user, amount=1_000_000, kind="CHARGE", reference=f"test:{user.pk}")
    print(json.dumps({"concert": concert.pk, "date": performance.date.isoformat(), "headers": headers}))
else:
    print(json.dumps({"concert": concert.pk}))
"""


@pytest.fixture
def pair():
    engines = PostgresPair().start()
    yield engines
    engines.stop()


def _env(pair: PostgresPair, **extra: str) -> dict[str, str]:
    """A subprocess environment whose database is the pair's primary."""
    primary = {"NAME": "encore", "HOST": "127.0.0.1", "PORT": pair.primary_port, "USER": "postgres"}
    return base_env(primary, SECRET_KEY="replica-test", QUEUE_BACKEND="database", **extra)


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _seed(env: dict[str, str], title: str, *, fan: bool) -> dict:
    out = _manage(env, "-c", f"TITLE = {title!r}; FAN = {fan}\n" + SEED)
    return json.loads(out.strip().splitlines()[-1])


def _titles(base: str) -> list[str]:
    reply = http("GET", f"{base}/api/v1/concerts")
    assert reply.status == 200, reply.body
    return [c["title"] for c in reply.body["results"]]


def test_the_catalogue_reads_the_replica_and_booking_never_does(pair, processes):
    env = _env(pair)
    _manage(env, "manage.py", "migrate", "--noinput", "-v0")
    first = _seed(env, "On both", fan=True)
    replica_env = _env(pair, REPLICA_DATABASE_URL=pair.url(pair.replica_port), REPLICA_RETRY_SECONDS="2")
    web, base = start_web(processes, replica_env)
    wait_until(lambda: _titles(base) == ["On both"], timeout=20, what="the replica to have the first concert")

    def rejoin() -> dict[str, str]:
        """The fan's headers with a live pass (a payment ends the pass; the empty line admits at once)."""
        joined = http("POST", f"{base}/api/v1/concerts/{first['concert']}/queue/tokens", headers=first["headers"])
        assert joined.status in (200, 201) and joined.body["status"] == "ACTIVE", joined.body
        return {**first["headers"], "X-Queue-Token": joined.body["token"]}

    # Replay paused: the replica stops at this moment, the primary goes on.
    with pair.connect(pair.replica_port) as replica:
        replica.execute("SELECT pg_wal_replay_pause()")
        wait_until(lambda: replica.execute("SELECT pg_is_wal_replay_paused()").fetchone()[0], timeout=10, what="pause")
        second = _seed(env, "Primary only", fan=False)
        assert _titles(base) == ["On both"]  # the list is the replica's
        assert http("GET", f"{base}/api/v1/concerts/{second['concert']}").status == 404  # so is the detail
        page = http("GET", f"{base}/")
        assert page.status == 200 and "On both" in page.body and "Primary only" not in page.body

        # Booking decides on the primary, whatever the replica knows: a hold and its payment.
        hold = {"concert_id": first["concert"], "date": first["date"], "seat_number": 9}
        held = http("POST", f"{base}/api/v1/reservations", json_body=hold, headers=first["headers"])
        assert held.status == 201, held.body
        paid = http(
            "POST", f"{base}/api/v1/payments", json_body={"reservation_id": held.body["id"]}, headers=first["headers"]
        )
        assert paid.status == 201, paid.body
        seats = http("GET", f"{base}/api/v1/concerts/{first['concert']}/dates/{first['date']}/seats", headers=rejoin())
        assert seats.status == 200 and any(s["number"] == 9 and s["status"] == "SOLD" for s in seats.body["seats"])
        # Nothing the app did wrote to the replica (it would have failed: a replica is read-only)
        # and the replica still lacks what the primary has.
        assert replica.execute("SELECT count(*) FROM concerts_reservation").fetchone()[0] == 0
        replica.execute("SELECT pg_wal_replay_resume()")
    wait_until(lambda: _titles(base) == ["On both", "Primary only"], timeout=20, what="the replica to catch up")

    # The replica dies: the catalogue answers from the primary, booking goes on.
    pair.stop_replica()
    assert _titles(base) == ["On both", "Primary only"]
    assert http("GET", f"{base}/api/v1/concerts/{second['concert']}").status == 200
    assert http("GET", f"{base}/").status == 200
    hold = {"concert_id": first["concert"], "date": first["date"], "seat_number": 10}
    assert http("POST", f"{base}/api/v1/reservations", json_body=hold, headers=rejoin()).status == 201

    # Back: once REPLICA_RETRY_SECONDS have passed the catalogue reads the replica again (the
    # server's connection to it shows there).
    pair.start_replica()
    others = "SELECT count(*) FROM pg_stat_activity WHERE datname = 'encore' AND pid <> pg_backend_pid()"
    with pair.connect(pair.replica_port) as replica:
        wait_until(
            lambda: _titles(base) == ["On both", "Primary only"] and replica.execute(others).fetchone()[0] >= 1,
            timeout=20,
            what="the catalogue to read the replica again",
        )
    assert web.alive()

"""Fuzzing from the schema: schemathesis generates requests for every operation in
`/api/schema/` (valid ones and deliberately invalid ones) and checks each response:
never a 5xx, status codes, content types, headers and bodies as documented, invalid
input refused, valid input accepted (but for the documented business rules below).

Three callers: anonymous, signed in with a token, and signed in *and admitted*
(an ACTIVE pass, money in the wallet, a live hold) so that the gated operations
get past the gate and exercise holds, payments and refunds.

The WSGI app is called in-process (no server), inside the test's transaction.
`make test` runs a bounded number of examples per operation; `make fuzz` runs many
more (FUZZ_MAX_EXAMPLES), see docs/reliability.md.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from concerts import services as concert_services
from config.wsgi import application
from queue_app.services import pass_join, queue_admit_now
from tests.factories import ConcertFactory, UserFactory, make_performance
from wallet import services as wallet_services

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "8"))
# The deterministic "coverage" phase (boundary values of every parameter) is the slow
# part; `make fuzz` turns it on, `make test` keeps to the examples and random fuzzing.
COVERAGE = os.environ.get("FUZZ_COVERAGE", "0") == "1"

# Business rules a schema cannot express: a schema-valid request may still be refused
# with one of these documented codes (never a 5xx).
CONFIG = schemathesis.Config.from_str(
    f"""
[generation]
max-examples = {MAX_EXAMPLES}
mode = "all"

[phases.coverage]
enabled = {"true" if COVERAGE else "false"}

[[operations]]
# Password policy (length, common, numeric, like the username) and taken usernames.
include-path = "/api/v1/auth/register"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 429]

[[operations]]
# INVALID_CREDENTIALS for a well-formed login that matches no account.
include-path = "/api/v1/auth/token"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 429]

[[operations]]
# CHARGE_AMOUNT_OUT_OF_RANGE: the limits are settings (CHARGE_MIN / CHARGE_MAX).
include-path = "/api/v1/wallet/charges"
checks.positive_data_acceptance.expected-statuses = ["2xx", 400, 401, 409, 422, 429, 502]

[[operations]]
# Paying: 409 ALREADY_PAID / HOLD_EXPIRED / INSUFFICIENT_BALANCE are documented outcomes.
include-path = "/api/v1/payments"
checks.positive_data_acceptance.expected-statuses = ["2xx", 401, 403, 404, 409, 422, 429]

[[operations]]
# 410 QUEUE_TOKEN_EXPIRED for a pass that ended.
include-path = "/api/v1/queue/status"
checks.positive_data_acceptance.expected-statuses = ["2xx", 404, 410]
"""
)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)
FUZZ_SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True, database=None)


@pytest.fixture(autouse=True)
def _keep_test_transaction():
    """The WSGI handler closes "old" connections at each request's start and end, which
    would close the test's own connection (inside its transaction); Django's test client
    does the same as this for its requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token_headers(db):
    token = Token.objects.create(user=UserFactory())
    return {"Authorization": f"Token {token.key}"}


@dataclass
class Admitted:
    headers: dict[str, str]
    queue_token: str
    concert_id: int
    dates: list[str]
    reservation_id: int


@pytest.fixture
def admitted(db, settings) -> Admitted:
    """A fan past the waiting room: ACTIVE pass, a funded wallet, one live hold."""
    settings.MAX_HOLDS_PER_USER = 50
    user = UserFactory()
    token = Token.objects.create(user=user)
    concert = ConcertFactory()
    performances = [make_performance(concert, days=2), make_performance(concert, days=5)]
    view, _ = pass_join(user_id=user.pk, concert_id=concert.pk)
    queue_admit_now(concert_id=concert.pk, count=1)
    wallet_services.wallet_credit(user=user, amount=5_000_000, kind="CHARGE", reference=f"fuzz:{user.pk}")
    hold = concert_services.seat_hold(
        user_id=user.pk, concert_id=concert.pk, date=performances[0].date, seat_number=1, now=timezone.now()
    )
    return Admitted(
        headers={"Authorization": f"Token {token.key}"},
        queue_token=str(view.token),
        concert_id=concert.pk,
        dates=[p.date.isoformat() for p in performances],
        reservation_id=hold.pk,
    )


def _point_at_real_objects(case, who: Admitted) -> None:
    """Steer about half of the generated ids and dates to the fan's real concert, dates
    and hold, so the operations behind the gate do real work (holds, payments, refunds).
    Which half depends only on the generated value, so Hypothesis can still replay and
    shrink a failure. Invalid (negative) cases are left as generated: they must be refused."""
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative:
        return

    def steer(value, real):
        if isinstance(value, bool) or not isinstance(value, int | str):
            return value
        return real if _even(value) else value

    if "X-Queue-Token" in case.headers:
        case.headers["X-Queue-Token"] = steer(case.headers["X-Queue-Token"], who.queue_token)
    elif any(p.name == "X-Queue-Token" for p in case.operation.headers):
        case.headers["X-Queue-Token"] = who.queue_token
    concert_path = case.path.startswith("/api/v1/concerts/")
    for name in ("id", "concert_id"):
        if concert_path and name in (case.path_parameters or {}):
            case.path_parameters[name] = steer(case.path_parameters[name], who.concert_id)
    if case.path_parameters and "date" in case.path_parameters:
        case.path_parameters["date"] = steer(case.path_parameters["date"], who.dates[0])
    if case.path.startswith("/api/v1/reservations/") and "id" in (case.path_parameters or {}):
        case.path_parameters["id"] = steer(case.path_parameters["id"], who.reservation_id)
    if isinstance(case.body, dict):
        if "concert_id" in case.body:
            case.body["concert_id"] = steer(case.body["concert_id"], who.concert_id)
        if "date" in case.body:
            case.body["date"] = steer(case.body["date"], who.dates[_even(case.body["date"])])
        if "seat_number" in case.body and isinstance(case.body["seat_number"], int):
            case.body["seat_number"] = case.body["seat_number"] % 60
        if "reservation_id" in case.body:
            case.body["reservation_id"] = steer(case.body["reservation_id"], who.reservation_id)


def _even(value) -> bool:
    return zlib.crc32(str(value).encode()) % 2 == 0


@schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.django_db
def test_anonymous(case):
    case.call_and_validate()


@schema.parametrize()
@FUZZ_SETTINGS
def test_signed_in(case, token_headers):
    case.call_and_validate(headers=token_headers)


@schema.parametrize()
@FUZZ_SETTINGS
def test_signed_in_and_admitted(case, admitted):
    _point_at_real_objects(case, admitted)
    case.call_and_validate(headers=admitted.headers)


def test_schema_covers_every_api_route():
    """Every API operation is in the schema, so the fuzzing above reaches all of them."""
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert len(operations) >= 19, sorted(operations)
    for expected in [
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/concerts/{concert_id}/queue/tokens"),
        ("GET", "/api/v1/queue/status"),
        ("DELETE", "/api/v1/queue/tokens/{token}"),
        ("GET", "/api/v1/concerts/{id}/dates/{date}/seats"),
        ("POST", "/api/v1/reservations"),
        ("DELETE", "/api/v1/reservations/{id}"),
        ("POST", "/api/v1/payments"),
        ("GET", "/api/v1/payments/{payment_id}"),
        ("POST", "/api/v1/wallet/charges"),
        ("GET", "/api/v1/wallet/charges/{id}"),
    ]:
        assert expected in operations, expected

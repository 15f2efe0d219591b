"""`make soak`: a mixed workload against `make serve` on PostgreSQL for a while,
then the books are checked.

    python -m bench.soak [--minutes 10] [--fans 24]

Fans join the waiting room, poll, hold seats, charge their wallets, pay, cancel
and leave, at random (seeded). The admission ticker admits them in the
background. At the end it runs check_ledger and prints the invariants - double
bookings, lost or double credits, negative balances, stuck PENDING charges,
unsent emails - each of which must be 0, and the error counts by status.
Exit status 1 if any invariant is broken or any request got a 5xx.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.data import make_concert, make_users, reset_database, setup_django
from bench.server import SECRET, Client, Server
from tools.procs import REPO, without_redis


def fan(
    index: int,
    port: int,
    user: tuple[int, str],
    concerts: list[tuple[int, list[str]]],
    until: float,
    codes: Counter,
    lock: threading.Lock,
) -> None:
    rng = random.Random(1000 + index)
    client = Client(port)
    _, auth = user

    def call(method: str, path: str, qtok: str = "", body: dict | None = None):
        status, data = client.call(method, path, auth, qtok, body)
        with lock:
            codes[(method, path.split("/")[3] if path.count("/") > 2 else path, status)] += 1
        return status, data

    while time.monotonic() < until:
        cid, dates = rng.choice(concerts)
        if rng.random() < 0.3:
            call("POST", "/api/v1/wallet/charges", body={"amount": rng.randrange(100_000, 600_000, 1000)})
        status, p = call("POST", f"/api/v1/concerts/{cid}/queue/tokens")
        if status not in (200, 201):
            continue
        qtok = p["token"]
        while p.get("status") == "WAITING" and time.monotonic() < until:
            time.sleep(min(2, p.get("poll_after_seconds", 1)))
            status, p = call("GET", "/api/v1/queue/status", qtok)
            if status != 200:
                break
        if p.get("status") != "ACTIVE":
            continue
        if rng.random() < 0.1:  # a leaver
            call("DELETE", f"/api/v1/queue/tokens/{qtok}")
            continue
        date = rng.choice(dates)
        status, seats = call("GET", f"/api/v1/concerts/{cid}/dates/{date}/seats", qtok)
        if status != 200 or not seats["available"]:
            continue
        holds = []
        for seat in rng.sample(seats["available"], min(len(seats["available"]), rng.randint(1, 3))):
            status, r = call(
                "POST", "/api/v1/reservations", qtok, {"concert_id": cid, "date": date, "seat_number": seat}
            )
            if status == 201:
                holds.append(r["id"])
        for rid in holds:
            choice = rng.random()
            if choice < 0.6:
                status, _ = call("POST", "/api/v1/payments", qtok, {"reservation_id": rid})
                if status == 201 and rng.random() < 0.2:
                    call("DELETE", f"/api/v1/reservations/{rid}")  # cancel the paid ticket: a refund
            elif choice < 0.8:
                call("DELETE", f"/api/v1/reservations/{rid}")  # release the hold
            # else: let it lapse
        call("DELETE", f"/api/v1/queue/tokens/{qtok}")


def invariants() -> dict[str, int]:
    from django.db import connection

    queries = {
        "double bookings": """SELECT count(*) FROM (SELECT seat_id FROM concerts_reservation
            WHERE status IN ('HELD','CONFIRMED') GROUP BY seat_id HAVING count(*) > 1) d""",
        "lost or double credits": """SELECT count(*) FROM wallet_charge c WHERE
            (c.status = 'SUCCEEDED') <> EXISTS (SELECT 1 FROM wallet_ledgerentry e
              WHERE e.kind = 'CHARGE' AND e.reference = 'charge:' || c.id)""",
        "wallets whose balance is not the sum of their ledger": """SELECT count(*) FROM wallet_wallet w
            WHERE w.balance <> COALESCE((SELECT sum(amount) FROM wallet_ledgerentry e WHERE e.wallet_id = w.id), 0)""",
        "negative balances": "SELECT count(*) FROM wallet_wallet WHERE balance < 0",
        "stuck PENDING charges": """SELECT count(*) FROM wallet_charge WHERE status = 'PENDING'
            AND created_at < now() - interval '5 minutes'""",
        "unsent emails": "SELECT count(*) FROM payments_outboxemail WHERE status <> 'SENT'",
        "confirmed without payment": """SELECT count(*) FROM concerts_reservation r WHERE r.status = 'CONFIRMED'
            AND NOT EXISTS (SELECT 1 FROM payments_payment p WHERE p.reservation_id = r.id AND p.status = 'PAID')""",
    }
    out = {}
    with connection.cursor() as cur:
        for name, sql in queries.items():
            cur.execute(sql)
            out[name] = cur.fetchone()[0]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--fans", type=int, default=24)
    args = parser.parse_args()
    env = {
        **without_redis(os.environ),
        "DATABASE_URL": os.environ.get("SOAK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/encore_soak"),
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": SECRET,
        "RATE_LIMITS": "off",
        "QUEUE_ADMIT_INTERVAL_SECONDS": "1",
        "QUEUE_ADMIT_BATCH": "4",
        "QUEUE_MAX_ACTIVE": "8",
        "HOLD_TTL_SECONDS": "20",
        "LOG_LEVEL": "WARNING",
    }
    if os.environ.get("SOAK_REDIS_URL"):
        env["REDIS_URL"] = os.environ["SOAK_REDIS_URL"]
    subprocess.run([sys.executable, "-m", "tools.dbcheck"], env=env, cwd=REPO, check=True)
    setup_django(env)
    reset_database()
    from django.core.management import CommandError, call_command

    users = make_users(args.fans)
    concerts = []
    for i in range(3):
        cid, perfs = make_concert(f"Soak {i}", performances=4)
        concerts.append((cid, [date for _, date in perfs]))
    codes: Counter = Counter()
    lock = threading.Lock()
    started = time.monotonic()
    with Server(env) as server:
        print(f"soaking {args.fans} fans for {args.minutes} min against {server.base} ...", flush=True)
        until = time.monotonic() + args.minutes * 60
        with ThreadPoolExecutor(args.fans) as pool:
            for i in range(args.fans):
                pool.submit(fan, i, server.port, users[i], concerts, until, codes, lock)
        # Let the background workers finish what is in flight (emails, sweeps).
        time.sleep(5)
    from concerts.services import holds_sweep
    from payments.outbox import outbox_dispatch

    holds_sweep()
    outbox_dispatch()
    elapsed = time.monotonic() - started
    total = sum(codes.values())
    server_errors = sum(n for (_, _, status), n in codes.items() if status >= 500)
    print(f"\n{total} requests in {elapsed:.0f} s ({total / elapsed:.1f} req/s), 5xx: {server_errors}")
    by_status = Counter()
    for (_, _, status), n in codes.items():
        by_status[status] += n
    print("responses by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())))
    broken = invariants()
    for name, n in broken.items():
        print(f"  {name:<55} {n}")
    try:
        call_command("check_ledger")
        ledger_ok = True
    except CommandError as exc:
        print(f"check_ledger: {exc}")
        ledger_ok = False
    return 0 if ledger_ok and server_errors == 0 and not any(broken.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

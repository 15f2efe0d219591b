"""The bench's data, written in bulk: users with API tokens and funded wallets, concerts
and performances, ACTIVE passes through the backend's own join, and long waiting lines
through the backend's bulk load."""

from __future__ import annotations

import datetime as dt
import os
import random

PASSWORD_HASH = "!"  # bench users log in with API tokens only


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def reset_database() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)


def make_users(n: int) -> list[tuple[int, str]]:
    """n users with API tokens and a large balance, in bulk SQL. Returns (id, token)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM auth_user")
        start = cur.fetchone()[0]
        cur.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                   is_staff, is_active, date_joined)
            SELECT %s, false, 'bench' || g, '', '', 'bench' || g || '@example.com', false, true, now()
            FROM generate_series(%s + 1, %s + %s) AS g
            RETURNING id
            """,
            [PASSWORD_HASH, start, start, n],
        )
        ids = [r[0] for r in cur.fetchall()]
        cur.execute(
            """
            INSERT INTO authtoken_token (key, user_id, created)
            SELECT encode(sha256(('bench' || u)::bytea), 'hex')::varchar(40), u, now() FROM unnest(%s::bigint[]) AS u
            RETURNING user_id, key
            """,
            [ids],
        )
        tokens = dict(cur.fetchall())
        cur.execute(
            "INSERT INTO wallet_wallet (user_id, balance, created_at, updated_at) "
            "SELECT u, 0, now(), now() FROM unnest(%s::bigint[]) AS u",
            [ids],
        )
    return [(i, tokens[i]) for i in ids]


def fund(users: list[tuple[int, str]], amount: int) -> None:
    """Credit each user through the ledger (one bulk statement each), keeping check_ledger clean."""
    from django.db import connection

    ids = [u for u, _ in users]
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE wallet_wallet SET balance = balance + %s, updated_at = now() WHERE user_id = ANY(%s)",
            [amount, ids],
        )
        cur.execute(
            """
            INSERT INTO wallet_ledgerentry (wallet_id, kind, amount, balance_after, reference, created_at)
            SELECT w.id, 'CHARGE', %s, w.balance, 'bench:' || w.id, now()
            FROM wallet_wallet w WHERE w.user_id = ANY(%s)
            """,
            [amount, ids],
        )


DATES_PER_CONCERT = 27  # one performance per concert per date, all inside the one-month window


def make_concert(title: str, performances: int = 1) -> tuple[int, list[tuple[int, str]]]:
    """A concert with up to 27 performances, one a day from tomorrow."""
    from django.utils import timezone

    from concerts.models import Concert
    from concerts.services import performance_create

    concert = Concert.objects.create(title=title, artist="Bench", venue="Hall")
    today = timezone.localdate()
    made = []
    for i in range(min(performances, DATES_PER_CONCERT)):
        perf = performance_create(concert=concert, date=today + dt.timedelta(days=1 + i))
        made.append((perf.pk, perf.date.isoformat()))
    return concert.pk, made


def make_concerts_with_performances(n: int, prefix: str) -> list[tuple[int, str, int]]:
    """n performances over as many concerts as needed: (concert_id, date, performance_id)."""
    out = []
    while len(out) < n:
        cid, perfs = make_concert(f"{prefix} {len(out)}", performances=n - len(out))
        out.extend((cid, date, pid) for pid, date in perfs)
    return out


def set_queue(concert_id: int, **fields) -> None:
    from queue_app.models import ConcertQueue

    ConcertQueue.objects.update_or_create(concert_id=concert_id, defaults=fields)


def activate(users: list[tuple[int, str]], concert_ids: list[int]) -> dict[tuple[int, int], str]:
    """ACTIVE passes for every (user, concert), through the backend's own join."""
    from django.utils import timezone

    from queue_app import services

    tokens = {}
    for cid in concert_ids:
        set_queue(cid, max_active=10_000_000, admit_batch=10_000_000, paused=False)
    from queue_app.selectors import queue_config_cache_clear

    queue_config_cache_clear()
    for uid, _ in users:
        for cid in concert_ids:
            view, _ = services.pass_join(user_id=uid, concert_id=cid, now=timezone.now())
            tokens[(uid, cid)] = str(view.token)
    return tokens


def load_waiting(concert_id: int, user_ids: list[int]) -> list[str]:
    """W waiting passes through the backend's bulk load; returns a sample of their tokens."""
    from django.db import connection
    from django.utils import timezone

    from queue_app.backends import get_backend

    backend = get_backend()
    now = timezone.now()
    tokens = backend.bulk_load_waiting(
        concert_id=concert_id,
        user_ids=user_ids,
        now=now,
        waiting_until=now + dt.timedelta(hours=2),
        poll_after=100,
    )
    if backend.name == "database":
        # As autovacuum would have by the time a line this long formed: statistics, and the
        # visibility map that lets the count of those ahead be an index-only scan.
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE queue_app_queuepass")
    return [str(t) for t in random.Random(1).sample(tokens, min(2000, len(tokens)))]


def drop_lines_db(concert_ids: list[int]) -> None:
    """Delete the bulk-loaded passes of these concerts and let PostgreSQL tidy up."""
    from django.db import connection

    if not concert_ids:
        return
    with connection.cursor() as cur:
        cur.execute("DELETE FROM queue_app_queuepass WHERE concert_id = ANY(%s)", [concert_ids])
        cur.execute("VACUUM ANALYZE queue_app_queuepass")


def make_holds(payers, perfs) -> list[tuple[int, str, int, int]]:
    """HELD reservations for the payers, far from lapsing, written in bulk."""
    from django.db import connection

    rows = []
    with connection.cursor() as cur:
        seats_by_perf = {}
        for _cid, _date, pid in perfs:
            cur.execute("SELECT id, price FROM concerts_seat WHERE performance_id = %s ORDER BY number", [pid])
            seats_by_perf[pid] = cur.fetchall()
        i = 0
        for cid, _date, pid in perfs:
            for seat_id, price in seats_by_perf[pid]:
                uid, auth = payers[i % len(payers)]
                i += 1
                cur.execute(
                    """INSERT INTO concerts_reservation (user_id, performance_id, seat_id, price, status, held_until,
                       created_at, updated_at) VALUES (%s, %s, %s, %s, 'HELD', now() + interval '1 hour', now(), now())
                       RETURNING id""",
                    [uid, pid, seat_id, price],
                )
                rows.append((uid, auth, cid, cur.fetchone()[0]))
    return rows

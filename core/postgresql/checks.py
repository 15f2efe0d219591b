"""The check a pooled PostgreSQL connection passes before a request borrows it.

psycopg_pool's own check (what Django installs with CONN_HEALTH_CHECKS) sends an empty
query on every borrow: a round trip to PostgreSQL on every request, before the request's
own first statement. This one asks the socket instead: an idle connection whose server
went away (restarted, killed, a proxy cut) has its end-of-file or error waiting to be
read, while a healthy idle one has nothing. Only then, or when the connection is not in
a clean idle state, does it run the full check (which discards a broken connection).
A server that vanished without closing the connection (a cable cut) is caught by
neither check before a timeout, so nothing is lost against the empty query.
"""

from __future__ import annotations

import select

from psycopg import pq
from psycopg_pool import ConnectionPool


def check_connection(conn) -> None:
    """Return quietly if ``conn`` looks usable; raise (the pool then replaces it) if not."""
    pgconn = conn.pgconn
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        ConnectionPool.check_connection(conn)
        return
    try:
        readable, _, broken = select.select([pgconn.socket], [], [pgconn.socket], 0)
    except (OSError, ValueError):  # no socket any more
        readable = broken = [True]
    if readable or broken:  # EOF, an error, or a message nobody asked for: ask properly
        ConnectionPool.check_connection(conn)

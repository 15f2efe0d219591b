"""The Redis backend: the line is a sorted set, every change is a Lua script.

Same semantics as `DatabaseBackend` (see there and `base.QueueBackend`), but a
poll costs O(log n) whatever the length of the line: a position is one ZRANK.

Key layout. Everything of one concert shares the hash tag ``{c<id>}``, so each
script touches a single cluster slot::

    encore:q:{c42}:wait          zset  token -> order key, every WAITING pass (drawn or not)
    encore:q:{c42}:pre           zset  token -> arrival seq, undrawn pre-queue passes (subset of wait)
    encore:q:{c42}:deadline      zset  token -> expires_at (µs), WAITING passes: the idle sweep
    encore:q:{c42}:active        zset  token -> expires_at (µs), ACTIVE passes
    encore:q:{c42}:users         hash  user_id -> token of the user's one live pass
    encore:q:{c42}:pass:<token>  hash  concert_id, user_id, status, arrival, order_key ("" while
                                       undrawn), prequeue ("1"/"0"), poll_after, expires_at,
                                       created_at, activated_at, ended_at, end_reason
    encore:q:{c42}:ended         zset  token -> ended_at (µs), ended passes not yet purged
    encore:q:{c42}:seq           INCR counter: arrival order (never a clock, so FIFO is strict)
    encore:q:{c42}:low           lowest order key handed out by pre-queue draws (<= 0)

    encore:qt:<token>            string: concert id, to find a pass from its token alone (never
                                 changes while it exists, so each process keeps a bounded copy)
    encore:q:concerts            set: concerts with passes stored (live or not yet purged)

The two global keys cannot live in a concert's slot, so no script touches them:
they are written by Python after the script (a join pipelines them with its script, one
round trip), idempotently (``SET NX`` / ``SADD``), and read before it. A crash in
between strands nothing: a join that returns an existing pass writes the token
mapping again (a pass whose mapping is missing answers 404 until then), and the
concert set is only pruned by `purge`, with a re-check (see
`_forget_concert_if_empty`); the next join re-adds a concert a crashed first join
left out.

Times are epoch microseconds (exact in a double and a zset score), always taken
from the caller's ``now``; never Redis TIME, so tests can move the clock.

Scripts, in lua/<name>.lua (all but `poll` start with the helpers of `prelude.lua` and
get the concert's 8 keys):
    poll          the pass and its rank, and the idle deadline pushed out, in one round trip
                  (the token's concert comes from the process's copy of its mapping)
    join          dedup on the users hash; end a lapsed pass; new pass at the back; and instant
                  entry: this pass and everyone admissible ahead of it, if all fit under the cap
    touch         a poll: push a WAITING pass's idle deadline out
    leave / end   end the owner's live pass
    tick          end idle WAITING and lapsed ACTIVE passes, then admit min(batch, cap - active)
    admit_now     staff: admit up to N, never past the cap
    draw          put the undrawn pre-queue in the order Python computed, ahead of everyone
    extend        push an ACTIVE pass's end out
    expire_all    end every live pass of the concert
    purge         delete ended passes older than a cutoff

tick, expire_all and purge end or delete at most a chunk of passes per script
(a mass expiry of 100k would otherwise block Redis for seconds, and with it every
poll); the caller calls again until done. Each pass still changes atomically, and
tick admits only in the call that finds the sweep complete. Admission never relies
on the sweep anyway: it counts only ACTIVE passes running past ``now`` and skips
WAITING passes past their deadline.

Ended passes keep their hash (status EXPIRED) so a poll can answer 410; the hash
and the token mapping also get a Redis EXPIRE of QUEUE_RETENTION_SECONDS as a
safety net, and `purge` deletes them by the ``ended`` index (by the caller's
clock, which Redis EXPIRE knows nothing of).
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any, TypeVar

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from core.rediscluster import cluster_client, is_cluster
from queue_app.backends.base import ACTIVE, WAITING, Admission, JoinResult, PassRecord, TickResult
from queue_app.backends.database import prequeue_order
from queue_app.exceptions import QueueUnavailable

PREFIX = "encore:q"
CONCERTS_KEY = f"{PREFIX}:concerts"
TOKEN_KEY = "encore:qt:{token}"
# Per-concert keys, in the order every script receives them as KEYS.
_KEY_NAMES = ("wait", "pre", "deadline", "active", "users", "seq", "ended", "low")

SOCKET_TIMEOUT_SECONDS = 2.0
# Token -> concert mappings each process keeps (a mapping never changes while it exists).
TOKEN_CACHE_SIZE = 100_000
# Most passes one script call ends or deletes: bounds how long Redis is blocked (~50 ms).
SWEEP_CHUNK = 2000
DRAW_ATTEMPTS = 5
# Passes per pipeline in a bulk load.
BULK_CHUNK = 5000

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


_LUA_DIR = resources.files(__package__).joinpath("lua")


def _lua(name: str) -> str:
    """A script's source, from lua/<name>.lua next to this module (read once, at import)."""
    return _LUA_DIR.joinpath(f"{name}.lua").read_text(encoding="utf-8")


# The scripts; each file's head comment gives its ARGV and reply. All but poll.lua are
# registered behind prelude.lua's helpers and receive the concert's keys (_KEY_NAMES).
_LUA_PRELUDE = _lua("prelude")
_POLL = _lua("poll")
_JOIN = _lua("join")
_TOUCH = _lua("touch")
_LEAVE = _lua("leave")
_END = _lua("end")
_TICK = _lua("tick")
_ADMIT_NOW = _lua("admit_now")
_DRAW = _lua("draw")
_EXTEND = _lua("extend")
_EXPIRE_ALL = _lua("expire_all")
_PURGE = _lua("purge")

# The pass fields a PassRecord needs, in the order the poll script returns them.
_RECORD_FIELDS = ("concert_id", "user_id", "status", "order_key", "prequeue", "poll_after", "expires_at")


def _us(moment: dt.datetime) -> str:
    """Epoch microseconds, as the string the scripts store (exact, unlike a float of seconds)."""
    return str((moment - _EPOCH) // _MICROSECOND)


def _from_us(value: str) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(value))


def _keys(concert_id: int | str) -> list[str]:
    return [f"{PREFIX}:{{c{concert_id}}}:{name}" for name in _KEY_NAMES]


def _pass_key(concert_id: int | str, token: str) -> str:
    return f"{PREFIX}:{{c{concert_id}}}:pass:{token}"


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _record(token: str, fields: dict[str, str]) -> PassRecord | None:
    if "status" not in fields:  # gone (purged or expired) while we looked
        return None
    order_key = fields.get("order_key", "")
    return PassRecord(
        token=uuid.UUID(token),
        concert_id=int(fields["concert_id"]),
        user_id=int(fields["user_id"]),
        status=fields["status"],
        order_key=int(order_key) if order_key else None,
        prequeue=fields.get("prequeue") == "1",
        poll_after=int(fields["poll_after"]),
        expires_at=_from_us(fields["expires_at"]),
    )


def _retention() -> int:
    return int(settings.QUEUE_RETENTION_SECONDS)


F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)

# Redis down, restarting, failing over (a cluster's shard without a master, a slot no node
# serves yet, a slot in migration): the caller gets a 503 with Retry-After.
_UNAVAILABLE = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.ClusterError,
    redis.exceptions.SlotNotCoveredError,
    redis.exceptions.TryAgainError,
)


def _unavailable_as_503(method: F) -> F:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except _UNAVAILABLE as exc:
            raise QueueUnavailable() from exc

    return wrapper  # type: ignore[return-value]


def _translate_errors(cls: C) -> C:
    """Wrap every public method in one place, so no Redis error escapes as a 500."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and callable(member):
            setattr(cls, name, _unavailable_as_503(member))
    return cls


class _TokenConcerts:
    """A bounded, thread-safe copy of the token -> concert mapping.

    Safe to keep because the mapping of a token never changes; a pass purged since it
    was copied is simply not found by the script that reads it. Misses are not kept
    (a join writes its mapping just after its script). Oldest entries go first.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._map: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> str | None:
        return self._map.get(token)

    def put(self, token: str, concert_id: str) -> None:
        with self._lock:
            if len(self._map) >= self.size:
                del self._map[next(iter(self._map))]
            self._map[token] = concert_id


def client_for(url: str) -> redis.Redis | RedisCluster:
    """A client for ``url``: one Redis (``redis://``, ``rediss://``, ``unix://``), or a Redis
    Cluster found from any of its nodes (``redis+cluster://host:port``; the keys of one
    concert share a hash tag, so every script stays on one shard)."""
    # One immediate retry on a broken connection (e.g. a pooled one after a Redis restart),
    # none on a timeout: fast 503s beat piled-up waits. A retried script may have run already;
    # every one is safe to run twice (at worst a tick or admit_now admits a second batch - in
    # order and never past the cap).
    options = dict(
        decode_responses=True,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
    )
    if is_cluster(url):
        return cluster_client(url, **options)
    return redis.Redis(connection_pool=redis.ConnectionPool.from_url(url, health_check_interval=30, **options))


@_translate_errors
class RedisBackend:
    name = "redis"

    def __init__(self, url: str) -> None:
        self.client = client_for(url)
        self._concerts = _TokenConcerts(TOKEN_CACHE_SIZE)
        register = self.client.register_script
        self._poll = register(_POLL)
        self._join = register(_LUA_PRELUDE + _JOIN)
        self._touch = register(_LUA_PRELUDE + _TOUCH)
        self._leave = register(_LUA_PRELUDE + _LEAVE)
        self._end = register(_LUA_PRELUDE + _END)
        self._tick = register(_LUA_PRELUDE + _TICK)
        self._admit_now = register(_LUA_PRELUDE + _ADMIT_NOW)
        self._draw = register(_LUA_PRELUDE + _DRAW)
        self._extend = register(_LUA_PRELUDE + _EXTEND)
        self._expire_all = register(_LUA_PRELUDE + _EXPIRE_ALL)
        self._purge = register(_LUA_PRELUDE + _PURGE)

    # --- QueueBackend ------------------------------------------------------------
    def join(
        self,
        *,
        concert_id: int,
        user_id: int,
        now: dt.datetime,
        prequeue: bool,
        waiting_until: dt.datetime,
        poll_after: int,
        admission: Admission | None = None,
    ) -> JoinResult:
        """One round trip: the script (join and instant entry) pipelined with the two global
        writes a new pass needs, its token mapping and the concert set. The token is chosen
        here, so its mapping can go in the same pipeline; when the script finds the user's
        live pass instead, a second round trip deletes the unused mapping and writes the
        found pass's again (NX: a crashed first join may have left it out)."""
        new_token = str(uuid.uuid4())
        keys = _keys(concert_id)
        args = [
            _us(now),
            _retention(),
            new_token,
            user_id,
            "1" if prequeue else "0",
            _us(waiting_until),
            poll_after,
            concert_id,
            admission.cap if admission is not None else -1,
            _us(admission.active_until) if admission is not None else "",
        ]
        if isinstance(self.client, RedisCluster):
            # A cluster pipeline takes no scripts (and its global keys sit on other shards,
            # so it would not be one round trip anyway): the script, then the two writes.
            reply = self._join(keys=keys, args=args)
            pipe = self.client.pipeline(transaction=False)
            pipe.set(TOKEN_KEY.format(token=new_token), concert_id, nx=True)
            pipe.sadd(CONCERTS_KEY, concert_id)
            pipe.execute()
        for attempt in () if isinstance(self.client, RedisCluster) else (1, 2):
            # EVALSHA queued by hand: a Script object in a pipeline costs a SCRIPT EXISTS round
            # trip on every execute. Unknown to this Redis (restarted, flushed): load it and
            # send the pipeline again (the SET NX and SADD are safe to repeat).
            pipe = self.client.pipeline(transaction=False)
            pipe.evalsha(self._join.sha, len(keys), *keys, *args)
            pipe.set(TOKEN_KEY.format(token=new_token), concert_id, nx=True)
            pipe.sadd(CONCERTS_KEY, concert_id)
            reply = pipe.execute(raise_on_error=False)[0]
            if not isinstance(reply, redis.exceptions.NoScriptError) or attempt == 2:
                break
            self._join.sha = self.client.script_load(self._join.script)
        if isinstance(reply, Exception):
            raise reply
        created, token, lapsed, rank = bool(reply[0]), reply[1], reply[2], int(reply[3])
        if not created or lapsed:
            pipe = self.client.pipeline(transaction=False)
            if not created:
                pipe.delete(TOKEN_KEY.format(token=new_token))
                # NX: idempotent for a pass found again, and it never clears the TTL of an ended one.
                pipe.set(TOKEN_KEY.format(token=token), concert_id, nx=True)
            if lapsed:
                pipe.expire(TOKEN_KEY.format(token=lapsed), _retention())
            pipe.execute()
        self._concerts.put(token, str(concert_id))
        record = _record(token, _pairs(reply[4:]))
        assert record is not None  # the script just returned its fields
        drawn_wait = record.status == WAITING and record.order_key is not None and rank >= 0
        return JoinResult(record, created, rank + 1 if drawn_wait else None)

    def get(self, token: uuid.UUID) -> PassRecord | None:
        concert_id = self._concert_of(token)
        if concert_id is None:
            return None
        return _record(str(token), self.client.hgetall(_pass_key(concert_id, str(token))))

    def poll(self, token: uuid.UUID, *, now: dt.datetime) -> tuple[PassRecord | None, int | None]:
        concert_id = self._concert_of(token)
        if concert_id is None:
            return None, None
        key = str(token)
        keys = _keys(concert_id)
        idle_floor_us = int(settings.QUEUE_WAIT_IDLE_SECONDS) * 1_000_000
        reply = self._poll(
            keys=[keys[0], keys[2], _pass_key(concert_id, key)],
            args=[key, _us(now), idle_floor_us, *_RECORD_FIELDS],
        )
        if not reply:
            return None, None
        record = _record(key, dict(zip(_RECORD_FIELDS, reply[1:], strict=True)))
        rank = int(reply[0])
        if record is None or record.status != WAITING or record.order_key is None or rank < 0:
            return record, None
        return record, rank + 1

    def position(self, record: PassRecord) -> int:
        wait = _keys(record.concert_id)[0]
        rank = self.client.zrank(wait, str(record.token))
        if rank is not None:
            return rank + 1
        # No longer waiting (admitted or ended since it was read): count those ahead of its key.
        order_key = record.order_key
        if order_key is None:
            arrival = self.client.hget(_pass_key(record.concert_id, str(record.token)), "arrival")
            if arrival is None:
                return 1
            order_key = int(arrival)
        return self.client.zcount(wait, "-inf", f"({order_key}") + 1

    def touch(self, *, token: uuid.UUID, waiting_until: dt.datetime, poll_after: int) -> None:
        concert_id = self._concert_of(token)
        if concert_id is not None:
            self._touch(keys=_keys(concert_id), args=[str(token), _us(waiting_until), poll_after])

    def leave(self, *, token: uuid.UUID, user_id: int, now: dt.datetime) -> bool:
        concert_id = self._concert_of(token)
        if concert_id is None:
            return False
        ended = bool(self._leave(keys=_keys(concert_id), args=[_us(now), _retention(), str(token), user_id]))
        if ended:
            self._expire_mappings([str(token)])
        return ended

    def tick(self, *, admission: Admission, now: dt.datetime, admit: bool) -> TickResult:
        idle_expired = active_expired = 0
        while True:  # one call unless more than SWEEP_CHUNK passes lapsed at once
            reply = self._tick(
                keys=_keys(admission.concert_id),
                args=[
                    _us(now),
                    _retention(),
                    "1" if admit else "0",
                    admission.batch,
                    admission.cap,
                    _us(admission.active_until),
                    SWEEP_CHUNK,
                ],
            )
            self._expire_mappings(reply[6:])
            idle_expired += int(reply[1])
            active_expired += int(reply[2])
            if not reply[5]:
                return TickResult(int(reply[0]), idle_expired, active_expired, int(reply[3]), int(reply[4]))

    def draw_prequeue(self, *, concert_id: int, seed: int) -> int:
        keys = _keys(concert_id)
        for _ in range(DRAW_ATTEMPTS):
            # The shuffle is `prequeue_order`'s, in Python, so the recorded seed replays it;
            # the script applies it only if the pre-queue is still what was read.
            arrivals = self.client.zrange(keys[1], 0, -1)  # by arrival seq
            if not arrivals:
                return 0
            drawn = self._draw(keys=keys, args=prequeue_order(arrivals, seed))
            if drawn >= 0:
                return int(drawn)
        raise QueueUnavailable("The pre-queue kept changing during the draw; please retry.")

    def extend(
        self, *, concert_id: int, user_id: int, until: dt.datetime, now: dt.datetime, longest: dt.timedelta
    ) -> dt.datetime | None:
        reply = self._extend(keys=_keys(concert_id), args=[_us(now), user_id, _us(until), longest // _MICROSECOND])
        return _from_us(reply) if reply else None

    def end(self, *, concert_id: int, user_id: int, now: dt.datetime, reason: str) -> bool:
        token = self._end(keys=_keys(concert_id), args=[_us(now), _retention(), user_id, reason])
        if token:
            self._expire_mappings([token])
        return bool(token)

    def admit_now(self, *, admission: Admission, count: int, now: dt.datetime) -> int:
        return int(
            self._admit_now(
                keys=_keys(admission.concert_id),
                args=[_us(now), count, admission.cap, _us(admission.active_until)],
            )
        )

    def expire_all(self, *, concert_id: int, now: dt.datetime) -> int:
        expired = 0
        while True:  # in chunks, so no single script blocks Redis for long
            ended = self._expire_all(keys=_keys(concert_id), args=[_us(now), _retention(), SWEEP_CHUNK])
            self._expire_mappings(ended)
            expired += len(ended)
            if len(ended) < SWEEP_CHUNK:
                return expired

    def counts(self, *, concert_id: int, now: dt.datetime) -> tuple[int, int]:
        keys = _keys(concert_id)
        after_now = f"({_us(now)}"
        pipe = self.client.pipeline(transaction=True)  # one slot: a consistent pair
        pipe.zcount(keys[2], after_now, "+inf")
        pipe.zcount(keys[3], after_now, "+inf")
        waiting, active = pipe.execute()
        return int(waiting), int(active)

    def concerts_with_passes(self) -> list[int]:
        concert_ids = sorted(int(c) for c in self.client.smembers(CONCERTS_KEY))
        pipe = self.client.pipeline(transaction=False)
        for concert_id in concert_ids:
            keys = _keys(concert_id)
            pipe.zcard(keys[0])
            pipe.zcard(keys[3])
        sizes = pipe.execute()
        return [c for i, c in enumerate(concert_ids) if sizes[2 * i] or sizes[2 * i + 1]]

    def purge(self, *, ended_before: dt.datetime) -> int:
        cutoff = _us(ended_before)
        purged = 0
        for concert_id in self.client.smembers(CONCERTS_KEY):
            while True:  # in chunks, so no single script blocks Redis for long
                reply = self._purge(keys=_keys(concert_id), args=[cutoff, SWEEP_CHUNK])
                tokens = reply[1:]
                pipe = self.client.pipeline(transaction=False)
                for token in tokens:  # one key per command: the mappings live in other slots
                    pipe.delete(TOKEN_KEY.format(token=token))
                pipe.execute()
                purged += len(tokens)
                if len(tokens) < SWEEP_CHUNK:
                    break
            if reply[0]:
                self._forget_concert_if_empty(concert_id)
        return purged

    def bulk_load_waiting(
        self,
        *,
        concert_id: int,
        user_ids: Sequence[int],
        now: dt.datetime,
        waiting_until: dt.datetime,
        poll_after: int,
    ) -> list[uuid.UUID]:
        """The keys `join.lua` writes, pipelined in chunks rather than one script per pass.
        The arrival numbers are taken in one INCRBY first, so the passes go behind everyone
        who joined before, in the given order; the concert is added to the set last, as a
        join does (see the module docstring)."""
        users = [int(user_id) for user_id in user_ids]
        if len(set(users)) != len(users):
            raise ValueError("bulk_load_waiting: user_ids must be distinct")
        tokens = [uuid.uuid4() for _ in users]
        if not users:
            return tokens
        keys = dict(zip(_KEY_NAMES, _keys(concert_id), strict=True))
        self._refuse_live_users(concert_id, keys["users"], users)
        first = self.client.incrby(keys["seq"], len(users)) - len(users) + 1
        until, created = _us(waiting_until), _us(now)
        for start in range(0, len(users), BULK_CHUNK):
            pipe = self.client.pipeline(transaction=False)
            waits, deadlines, owners = {}, {}, {}
            for offset, (token, user_id) in enumerate(
                zip(tokens[start : start + BULK_CHUNK], users[start : start + BULK_CHUNK], strict=True)
            ):
                key, seq = str(token), first + start + offset
                pipe.hset(
                    _pass_key(concert_id, key),
                    mapping={
                        "concert_id": concert_id,
                        "user_id": user_id,
                        "status": WAITING.value,
                        "arrival": seq,
                        "order_key": seq,
                        "prequeue": "0",
                        "poll_after": poll_after,
                        "expires_at": until,
                        "created_at": created,
                    },
                )
                pipe.set(TOKEN_KEY.format(token=key), concert_id)
                waits[key], deadlines[key], owners[user_id] = seq, int(until), key
            pipe.zadd(keys["wait"], waits)
            pipe.zadd(keys["deadline"], deadlines)
            pipe.hset(keys["users"], mapping=owners)
            pipe.execute()
        self.client.sadd(CONCERTS_KEY, concert_id)
        return tokens

    # --- helpers -------------------------------------------------------------------
    def _refuse_live_users(self, concert_id: int, users_key: str, users: list[int]) -> None:
        """ValueError, before anything is written, if any of ``users`` holds a live pass."""
        if not self.client.hlen(users_key):
            return
        for start in range(0, len(users), BULK_CHUNK):
            chunk = users[start : start + BULK_CHUNK]
            held = [(u, t) for u, t in zip(chunk, self.client.hmget(users_key, chunk), strict=True) if t]
            if not held:
                continue
            pipe = self.client.pipeline(transaction=False)
            for _, token in held:
                pipe.hget(_pass_key(concert_id, token), "status")
            live = [u for (u, _), status in zip(held, pipe.execute(), strict=True) if status in (WAITING, ACTIVE)]
            if live:
                raise ValueError(f"bulk_load_waiting: users {live[:10]} already hold a live pass")

    def _concert_of(self, token: uuid.UUID) -> str | None:
        """The token's concert: the process's copy, else the global mapping (then copied).
        The one read outside a script: the token alone does not name the concert's slot."""
        key = str(token)
        concert_id = self._concerts.get(key)
        if concert_id is None:
            concert_id = self.client.get(TOKEN_KEY.format(token=key))
            if concert_id is not None:
                self._concerts.put(key, concert_id)
        return concert_id

    def _expire_mappings(self, tokens: Iterable[str]) -> None:
        """The token mappings of ended passes go with their hashes (purge deletes them sooner)."""
        pipe = self.client.pipeline(transaction=False)
        retention = _retention()
        for token in tokens:
            pipe.expire(TOKEN_KEY.format(token=token), retention)
        pipe.execute()

    def _forget_concert_if_empty(self, concert_id: str) -> None:
        """Drop a concert that holds nothing from the concert set, racing joins safely.

        A join runs its script (the pass is stored) before it adds the concert to the
        set. So after removing, look again: a join whose SADD our SREM may have undone
        has stored its pass by now, and we put the concert back.
        """
        self.client.srem(CONCERTS_KEY, concert_id)
        keys = _keys(concert_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.zcard(keys[0])
        pipe.zcard(keys[3])
        pipe.zcard(keys[6])
        if any(pipe.execute()):
            self.client.sadd(CONCERTS_KEY, concert_id)

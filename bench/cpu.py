"""Where a row's machine time went: the CPU every process on the machine used while the
row ran, grouped by what it is (the web server, PostgreSQL, Redis, the django-q2 cluster
and ticker, the load generator, the rest), per request, and the share of the cores left
idle. Read from /proc (Linux), so it costs the measured processes nothing; elsewhere it
measures nothing and the report leaves the columns empty.

A process is grouped by its own command line or, failing that, its nearest ancestor's
(granian's and django-q2's forked workers carry their parent's group). The load generator
is a child of this process and has exited by the time the row ends: its share is this
process's children's time over the row.
"""

from __future__ import annotations

import os
from pathlib import Path

GROUPS = ("web", "postgres", "redis", "workers", "client", "other")
_PROC = Path("/proc")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _group(cmdline: str, comm: str) -> str | None:
    if comm.startswith("postgres") or cmdline.startswith("postgres"):
        return "postgres"
    if comm.startswith("redis-server"):
        return "redis"
    if "granian" in cmdline:
        return "web"
    if "qcluster" in cmdline or "queue_ticker" in cmdline:
        return "workers"
    return None


def snapshot() -> dict | None:
    """CPU seconds per group, the machine's busy and total seconds, and this process's
    children's (the load generator's) seconds."""
    if not (_PROC / "stat").exists():
        return None
    procs: dict[int, tuple[int, str | None, float]] = {}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone in between
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
        procs[int(entry.name)] = (ppid, _group(cmdline, comm), (utime + stime) / _TICK)
    groups = dict.fromkeys(GROUPS, 0.0)
    me = os.getpid()
    for pid, (ppid, group, seconds) in procs.items():
        seen = 0
        while group is None and ppid in procs and seen < 32:
            ppid, group = procs[ppid][0], procs[ppid][1]
            seen += 1
        if pid == me:
            continue  # the bench driver itself waits on the load generator
        groups[group or "other"] += seconds
    cpu = (_PROC / "stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(v) for v in cpu]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    times = os.times()
    return {
        "groups": groups,
        "busy": (sum(ticks) - idle) / _TICK,
        "total": sum(ticks) / _TICK,
        "client": times.children_user + times.children_system,
    }


def per_request(before: dict | None, after: dict | None, requests: int) -> dict | None:
    """Milliseconds of CPU per request for each group, and the machine's idle share."""
    if before is None or after is None or requests <= 0:
        return None
    out = {g: (after["groups"][g] - before["groups"][g]) * 1000 / requests for g in GROUPS if g != "client"}
    out["client"] = (after["client"] - before["client"]) * 1000 / requests
    # Processes that exited during the row (besides the load generator) are not counted.
    total = after["total"] - before["total"]
    out["idle_share"] = 1 - (after["busy"] - before["busy"]) / total if total > 0 else None
    return {k: round(v, 3) if v is not None else None for k, v in out.items()}

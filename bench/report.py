"""docs/benchmarks.json and the results block of docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import sys
import time
from dataclasses import asdict

from bench.rows import Row
from tools.procs import REPO as ROOT


def write_reports(rows: list[Row], args, started: float) -> None:
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    machine = f"{platform.node()}: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    command = "make bench" + (f" BENCH_ARGS='{' '.join(sys.argv[1:])}'" if sys.argv[1:] else "")
    (ROOT / "docs" / "benchmarks.json").write_text(
        json.dumps(
            [
                {
                    k: v
                    for k, v in asdict(r).items()
                    if k in {"name", "rps", "p50_ms", "p99_ms", "errors", "ratio", "target", "met"}
                }
                | ({"cpu_ms_per_request": r.extra["cpu_ms"]} if r.extra.get("cpu_ms") else {})
                for r in rows
            ],
            indent=2,
        )
        + "\n"
    )

    def fmt(v, spec=""):
        return "-" if v is None else format(v, spec)

    table = [
        "| row | req/s | p50 ms | p99 ms | errors | ratio to baseline | target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "**no**")
        table.append(
            f"| {r.name}{' (' + r.note + ')' if r.note else ''} | {fmt(r.rps, ',.1f')} | {fmt(r.p50_ms)} | "
            f"{fmt(r.p99_ms)} | {r.errors} | {fmt(r.ratio)} | {r.target} | {met} |"
        )
    results = "\n".join(table)
    spent = [(r, r.extra.get("cpu_ms")) for r in rows if r.extra.get("cpu_ms")]
    if spent:
        results += "\n\n" + "\n".join(
            [
                "Machine CPU per request while each row ran, in ms, by process (bench/cpu.py), and the",
                "cores' idle share; a row near zero idle is bound by the CPU these processes share:",
                "",
                "| row | web (Django) | PostgreSQL | Redis | workers, ticker | load generator | other | idle |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                *(
                    f"| {r.name} | {c['web']:.2f} | {c['postgres']:.2f} | {c['redis']:.2f} | {c['workers']:.2f} | "
                    f"{c['client']:.2f} | {c['other']:.2f} | {fmt(c['idle_share'], '.0%')} |"
                    for r, c in spent
                ),
            ]
        )
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n<!-- results -->\n"
    block = (
        f"<!-- results -->\nMeasured {stamp} on {machine}, in {time.monotonic() - started:.0f} s, with\n"
        f"`{command}` (wrk -t2 -c{args.connections}, {args.duration} s per row; server: `make serve`,\n"
        f"granian WSGI, 2 workers x 4 threads, PostgreSQL; the Redis rows add REDIS_URL).\n\n{results}\n"
        "<!-- /results -->"
    )
    if "<!-- results -->" in text:
        text = re.sub(r"<!-- results -->.*?(<!-- /results -->|\Z)", lambda _: block, text, count=1, flags=re.S)
    else:
        text += "\n" + block + "\n"
    path.write_text(text)
    print(f"\nWrote docs/{path.name} and docs/benchmarks.json")

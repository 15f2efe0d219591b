"""`python -m tests.reliability.worker JOB[,JOB] [--batch N] [--until-idle]`: a
background worker for the fault tests, running the same services as the django-q2
schedules (the hold sweeper, the outbox dispatcher) in a loop, in small batches so
that a kill -9 lands in the middle of the work."""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("jobs")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--until-idle", action="store_true")
    parser.add_argument("--pause", type=float, default=0.0, help="Seconds between rounds.")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.reliability.fault_settings")
    import django

    django.setup()
    from concerts.services import holds_sweep
    from payments.outbox import outbox_dispatch

    jobs = set(args.jobs.split(","))
    rounds = 0
    while True:
        done = 0
        if "sweep" in jobs:
            done += holds_sweep(batch_size=args.batch)
        if "outbox" in jobs:
            done += outbox_dispatch(limit=args.batch)
        rounds += 1
        print(f"round {rounds}: {done}", flush=True)
        if done == 0 and args.until_idle:
            return 0
        time.sleep(args.pause)


if __name__ == "__main__":
    sys.exit(main())

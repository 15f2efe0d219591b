"""`python -m tools.stack NAME=COMMAND ...`: run several processes in the foreground
as one (web server, django-q2 cluster, admission ticker). Ctrl-C or SIGTERM stops
them all; if one exits on its own, the others are stopped too, so nothing runs
half-started."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time

GRACE_SECONDS = 10


def main(argv: list[str]) -> int:
    specs = [arg.split("=", 1) for arg in argv]
    if not specs or any(len(spec) != 2 for spec in specs):
        print("usage: python -m tools.stack NAME='command args' ...", file=sys.stderr)
        return 2
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(signum: int = signal.SIGTERM, frame: object = None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, command in specs:
        children[name] = subprocess.Popen(shlex.split(command))
        print(f"[stack] started {name} (pid {children[name].pid}): {command}", flush=True)

    code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"[stack] {name} exited with {child.returncode}; stopping the rest", flush=True)
                code = child.returncode or 1
                stopping = True
                break
        time.sleep(0.2)

    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    print("[stack] stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

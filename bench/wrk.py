"""Load from `wrk`: requests drawn round-robin from a list of lines, one Lua script (written
to a work folder) that replays them and reports the status classes and latencies."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

LUA = r"""
local lines = {}
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  local f = io.open("%(data)s", "r")
  if f then
    for line in f:lines() do table.insert(lines, line) end
    f:close()
  end
  idx = (tid or 1) * 7919
  s2, s4, s5 = 0, 0, 0
end
function request()
  if #lines == 0 then return wrk.format(nil, nil) end
  idx = idx + 1
  local line = lines[(idx %% #lines) + 1]
  local method, path, auth, qtok, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t?(.*)")
  local headers = {["Content-Type"] = "application/json"}
  if auth ~= "" then headers["Authorization"] = "Token " .. auth end
  if qtok ~= "" then headers["X-Queue-Token"] = qtok end
  if body == "" then body = nil end
  return wrk.format(method, path, headers, body)
end
function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1 else s2 = s2 + 1 end
end
function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + (t:get("s2") or 0); b = b + (t:get("s4") or 0); c = c + (t:get("s5") or 0)
  end
  io.write(string.format("RESULT %%d %%d %%d %%d %%f %%f %%f %%d\n", summary.requests, a, b, c,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk(base: str, lines: list[str], *, duration: int, connections: int, workdir: Path, timeout: int = 10) -> dict:
    """Run wrk with requests drawn round-robin from ``lines`` (method, path, auth, queue token, body)."""
    data = workdir / f"req-{uuid.uuid4().hex}.tsv"
    data.write_text("\n".join(lines) + "\n")
    script = workdir / f"s-{uuid.uuid4().hex}.lua"
    script.write_text(LUA % {"data": str(data)})
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    ).stdout
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", out)
    if not match:
        raise RuntimeError(f"wrk gave no result:\n{out}")
    total, ok, client_err, server_err, secs, p50, p99, sock = match.groups()
    return {
        "requests": int(total),
        "ok": int(ok),
        "4xx": int(client_err),
        "5xx": int(server_err),
        "socket_errors": int(sock),
        "rps": int(total) / float(secs),
        "p50_ms": float(p50),
        "p99_ms": float(p99),
    }


def line(method: str, path: str, auth: str = "", qtok: str = "", body: dict | None = None) -> str:
    return "\t".join([method, path, auth, qtok, json.dumps(body) if body is not None else ""])

"""Structured logs: one JSON object per line, with secrets redacted.

Every record goes through :func:`redact` before it is written, whatever logger
produced it (ours, Django's ``django.request`` warnings, tracebacks), so a full
API token, a queue pass or a password cannot reach the log by accident:

- UUIDs (waiting-room passes, charge ids) keep their first 8 characters;
- 40-character hex strings (DRF auth tokens) keep their first 8 characters;
- ``Token …`` / ``Bearer …`` credentials, ``password=…`` / ``"password": "…"``
  pairs (also ``secret``, ``api_key``, ``token``) and ``user:password@`` in URLs
  are masked.

The request id of the request being served (set by
``core.middleware.RequestLogMiddleware``) is added to every record logged
while it runs, so one request's lines can be found together.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import time
from typing import Any

MASK = "***"

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_UUID = re.compile(r"\b([0-9a-fA-F]{8})-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b")
_HEX40 = re.compile(r"\b([0-9a-fA-F]{8})[0-9a-fA-F]{32}\b")
# A credential is at least 8 characters: "token 200" in a request line is a path and a status.
_AUTH_SCHEME = re.compile(r"\b(Token|Bearer|Basic)\s+[^\s'\",;]{8,}", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    r"""(?P<key>["']?(?:password\d?|passwd|secret|secret_key|api_key|apikey|access_token|token|key)["']?\s*[:=]\s*)"""
    r"""(?P<quote>["']?)(?P<value>[^"'&\s,;}]+)""",
    re.IGNORECASE,
)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]*):[^@/\s]+@", re.IGNORECASE)


# Every pattern above needs one of these: most lines (a request line) have none, and one
# search is far cheaper than five substitutions on every line.
_MAYBE_SECRET = re.compile(r"://|token|bearer|basic|pass|secret|key|[0-9a-fA-F]{8}", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with credentials masked and tokens cut to a prefix."""
    if not text or not _MAYBE_SECRET.search(text):
        return text
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}:{MASK}@", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m[1]} {MASK}", text)
    text = _SECRET_PAIR.sub(lambda m: f"{m['key']}{m['quote']}{MASK}", text)
    text = _UUID.sub(lambda m: f"{m[1]}…", text)
    return _HEX40.sub(lambda m: f"{m[1]}…", text)


def token_prefix(token: object) -> str | None:
    """The first 8 characters of a token: enough to correlate, useless to replay."""
    raw = str(token or "").strip()
    return raw[:8] or None


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # django.request logs after the middleware is done; its record carries the request.
            request = getattr(record, "request", None)
            record.request_id = request_id_var.get() or getattr(request, "request_id", None)
        return True


# LogRecord attributes that are not user-supplied ``extra`` fields.
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            payload["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = _clean(value)
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            payload["exc"] = redact(record.exc_text)
        if record.stack_info:
            payload["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


_second: tuple[int, str] = (0, "")  # the last whole second formatted, and its text (swapped whole)


def _timestamp() -> str:
    """Now as JsonFormatter writes ``ts`` (ISO 8601, milliseconds, UTC); the date and time
    are formatted once a second."""
    global _second
    now = time.time()
    whole = int(now)
    second = _second
    if second[0] != whole:
        second = _second = (whole, dt.datetime.fromtimestamp(whole, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{second[1]}.{int((now - whole) * 1000):03d}+00:00"


# What `JsonFormatter` calls json.dumps with, made once (json.dumps builds an encoder per call).
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


def _json_streams(logger: logging.Logger, level: int) -> list[logging.StreamHandler] | None:
    """The handlers a record of ``level`` from ``logger`` would reach, if every one is a stream
    handler writing `JsonFormatter` lines with no filter but `RequestIdFilter` (the setup
    settings.LOGGING makes); None for any other setup, or if the record would be dropped."""
    if logger.disabled or not logger.isEnabledFor(level):
        return None
    streams: list[logging.StreamHandler] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters and current is logger:
            return None
        for handler in current.handlers:
            if (
                type(handler) is not logging.StreamHandler
                or not isinstance(handler.formatter, JsonFormatter)
                or any(not isinstance(f, RequestIdFilter) for f in handler.filters)
            ):
                return None
            if level >= handler.level:
                streams.append(handler)
        current = current.parent if current.propagate else None
    return streams or None


def log_json_line(logger: logging.Logger, level: int, msg: str, fields: dict[str, Any]) -> None:
    """``logger.log(level, msg, extra=fields)``, written straight to the JSON stream handlers
    when those are all the record would reach: the same line `JsonFormatter` writes, without
    building a LogRecord or passing the filters (a request line costs a third as much). Any
    other setup (the plain format, a test capturing logs, another handler) gets the record."""
    streams = _json_streams(logger, level)
    if streams is None:
        logger.log(level, msg, extra=fields)
        return
    payload: dict[str, Any] = {
        "ts": _timestamp(),
        "level": logging.getLevelName(level),
        "logger": logger.name,
        "msg": redact(msg),
    }
    request_id = request_id_var.get()
    if request_id:
        payload["request_id"] = request_id
    for key, value in fields.items():
        payload[key] = value if value is None or type(value) in (int, float, bool) else _clean(value)
    line = _LINE_ENCODER.encode(payload)
    for handler in streams:
        with handler.lock:
            try:
                handler.stream.write(line + handler.terminator)
                handler.flush()
            except Exception:  # as Handler.emit does: a broken stream must not fail the request
                handler.handleError(logging.makeLogRecord({"msg": line}))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def escape_controls(text: str) -> str:
    """Control characters shown as escapes, so a value from a request (a path with
    ``%0a``) cannot start a forged log line of its own."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


class PlainFormatter(logging.Formatter):
    """Human-readable lines for a developer's terminal (LOG_FORMAT=plain), redacted too.
    The message is one line whatever it holds; only a traceback below it spans lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        # The request id, short, only on lines logged while a request runs.
        request_id = getattr(record, "request_id", None)
        record.request_tag = f" [{request_id[:8]}]" if request_id else ""
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))

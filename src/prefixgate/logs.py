"""Structured (JSON lines) logging with named events. Secrets are never passed to a logger."""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime

__all__ = ["configure_logging", "log_request"]

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_http = logging.getLogger("prefixgate.http")


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


_last_ms: list[tuple[int, str]] = [(-1, "")]


def _now_timestamp() -> str:
    """The current time as _timestamp gives it, formatted once per millisecond (a busy server logs
    several requests in each)."""
    now = time.time()
    ms = int(now * 1000)
    last = _last_ms[0]
    if last[0] == ms:
        return last[1]
    text = _timestamp(ms / 1000)
    _last_ms[0] = (ms, text)
    return text


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _JsonLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def write_line(self, line: str) -> None:
        """Write one preformatted line under the handler's lock, so it never interleaves with others."""
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line)
            self.flush()


class _RequestLines:
    """Request lines written at the end of the event loop's current turn: under load one write carries
    many lines instead of one system call each; an idle server still writes each line at once."""

    def __init__(self, handler: _JsonLinesHandler) -> None:
        self._handler = handler
        self._lines: list[str] = []
        self._scheduled = False
        self._lock = threading.Lock()

    def add(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)
            if self._scheduled:
                return
            self._scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:  # not on an event loop
            self.flush()

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
            self._scheduled = False
        if lines:
            self._handler.write_line("".join(lines))


_request_lines: _RequestLines | None = None


def configure_logging(level: str = "INFO") -> None:
    global _request_lines  # configured once per process, never at import time
    handler = _JsonLinesHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger("prefixgate")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    _request_lines = _RequestLines(handler)
    atexit.register(_request_lines.flush)


def log_request(request_id: str, method: str, path: str, status: int, ms: float) -> None:
    """The `request.completed` line, in the shape every other line has.

    It goes straight to the configured handler's stream: one line per request must not pay for a LogRecord,
    filters and the generic formatter (about four times the cost), nor for a system call of its own.
    Callers check that INFO is on first.
    """
    lines = _request_lines
    if lines is None or _http.getEffectiveLevel() > logging.INFO:
        _http.info(
            "request.completed",
            extra={"request_id": request_id, "method": method, "path": path, "status": status, "ms": ms},
        )
        return
    lines.add(
        f'{{"ts": "{_now_timestamp()}", "level": "info", "logger": "prefixgate.http", '
        f'"event": "request.completed", "request_id": "{request_id}", "method": {json.dumps(method)}, '
        f'"path": {json.dumps(path)}, "status": {status}, "ms": {ms}}}\n'
    )

"""The serve process's background re-validation of custom hostnames: a thread that claims due hostnames
and checks them, and keeps going through database outages without filling the log with tracebacks."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .adapters.db.uow import DatabaseUnavailable
from .service.context import utcnow
from .service.hostname_checks import revalidate_due
from .service.ports import Database, HostnameInspector

__all__ = ["Revalidator"]

_log = logging.getLogger("prefixgate.revalidation")
_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, DatabaseUnavailable)
# The shortest sleep: a hostname that is due but being claimed by another process (its row locked, then
# moved on) is looked at again this soon, without spinning.
_MIN_PAUSE_S = 0.005


class Revalidator:
    """Runs revalidate_due until stopped.

    When nothing is due it sleeps until the next hostname falls due (at most `idle_s`, so hostnames created
    meanwhile, which are due at once, wait no longer than that). Waking at the due time, not after a fixed
    pause, keeps each hostname's checks one interval apart however long a round of checks took. While
    SQLite's writer is busy it retries after a short pause; after a database failure it waits twice as long
    each time (up to the interval), then resumes.
    """

    def __init__(self, db: Database, inspector: HostnameInspector, interval_s: float, *, idle_s: float = 1.0) -> None:
        self._db = db
        self._inspector = inspector
        self._interval_s = interval_s
        self._idle_s = min(idle_s, interval_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefixgate-revalidation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _until_due(self) -> float:
        """Seconds until the next hostname is due, from _MIN_PAUSE_S to idle_s."""
        with self._db.read() as uow:
            due = uow.hostnames.next_due()
        if due is None:
            return self._idle_s
        return min(self._idle_s, max((due - utcnow()).total_seconds(), _MIN_PAUSE_S))

    def _pause_after(self, checked: int | None) -> float:
        if checked is None:  # SQLite's writer is busy: come back soon, not at once
            return self._idle_s / 10
        return 0.0 if checked else self._until_due()

    def _run(self) -> None:
        backoff = self._idle_s
        while not self._stop.is_set():
            try:
                checked = revalidate_due(self._db, self._inspector, self._interval_s)
                pause = self._pause_after(checked)
                backoff = self._idle_s
            except _UNAVAILABLE as exc:
                _log.warning("revalidation.database_unavailable", extra={"error": type(exc).__name__})
                backoff = pause = min(backoff * 2, self._interval_s)
            except Exception:  # a bug: say so, then carry on with the others next round
                _log.exception("revalidation.failed")
                pause = self._idle_s
            if pause:
                self._stop.wait(pause)

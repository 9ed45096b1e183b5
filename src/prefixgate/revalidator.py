"""The serve process's background re-validation of custom hostnames: a thread that claims due hostnames
and checks them, and keeps going through database outages without filling the log with tracebacks."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .adapters.db.uow import DatabaseUnavailable
from .service.hostname_checks import revalidate_due
from .service.ports import Database, HostnameInspector

__all__ = ["Revalidator"]

_log = logging.getLogger("prefixgate.revalidation")
_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, DatabaseUnavailable)


class Revalidator:
    """Runs revalidate_due until stopped: at once while hostnames are due, then every `idle_s`; after a
    failure it waits twice as long each time (up to the interval), then resumes."""

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

    def _run(self) -> None:
        pause = self._idle_s
        while not self._stop.is_set():
            try:
                checked = revalidate_due(self._db, self._inspector, self._interval_s)
            except _UNAVAILABLE as exc:
                _log.warning("revalidation.database_unavailable", extra={"error": type(exc).__name__})
                pause = min(pause * 2, self._interval_s)
                self._stop.wait(pause)
                continue
            except Exception:  # a bug: say so, then carry on with the others next round
                _log.exception("revalidation.failed")
                checked = 0
            pause = self._idle_s
            if not checked:
                self._stop.wait(self._idle_s)

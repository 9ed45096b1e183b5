"""SQLite writes of one process: one write connection, writers taking turns, and group commit.

SQLite has one write lock per database, and with `synchronous=FULL` every COMMIT waits for an fsync
(about 3 ms on a typical disk), so writers committing one by one can never do more than a few hundred
writes a second however little each one does. Writers here take turns on this process's one write
connection (in arrival order, WriterQueue), and each writer's unit of work is a SAVEPOINT inside a
transaction that the writers waiting in line share: when a writer is done and others are queued, the
transaction stays open for them; it is committed when nobody waits, or when it holds `batch_max` units or
is older than `batch_window_s` or the last durable COMMIT took, whichever is longer. On a slow or stalled
disk the writers queued behind a COMMIT would otherwise each wait for one of their own; this way the first
unit of a transaction waits at most about one more COMMIT, and N writers need about one fsync, not N.

A writer's commit() returns only after that COMMIT is on disk, so nothing is acknowledged before it is
durable and visible to readers, and a unit that fails rolls back to its own savepoint without touching the
others. If the shared COMMIT itself fails, every unit in it fails.

Skippable bookkeeping (begin(wait=False): a token's last use, a session's expiry, settled bindings, the
hostnames claimed for re-validation) need not survive a power cut, since each is recomputed or written
again later. It gets a transaction of its own under `synchronous=NORMAL` (SQLite fixes the level at BEGIN):
in WAL mode its COMMIT writes the log without an fsync, and the next durable COMMIT's fsync covers it too.
So bookkeeping never makes the writers queued behind it wait for the disk; on a stalled disk, that wait
is what runs out their busy timeout.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from ...metrics import observe_lock_wait
from .engine import sqlite_execute
from .writers import WriterQueue

__all__ = ["DatabaseUnavailable", "SqliteWriter", "WriteTurn"]


class DatabaseUnavailable(Exception):
    """The database cannot take this write now (no turn within the busy timeout, or the commit failed)."""


class _Batch:
    """The transaction the queued writers share, and its outcome."""

    def __init__(self, *, durable: bool) -> None:
        self.started = time.monotonic()
        self.units = 0
        self.durable = durable  # False: bookkeeping, committed without an fsync and never joined
        self._done = threading.Event()
        self._error: BaseException | None = None

    def finish(self, error: BaseException | None) -> None:
        self._error = error
        self._done.set()

    def wait_durable(self, timeout: float) -> None:
        """Raises DatabaseUnavailable unless the shared COMMIT succeeded."""
        if not self._done.wait(timeout):
            raise DatabaseUnavailable("the commit did not finish in time")
        if self._error is not None:
            raise DatabaseUnavailable(f"the commit failed: {self._error}") from self._error


class SqliteWriter:
    def __init__(self, engine: Engine, *, wait_s: float, batch_max: int = 64, batch_window_s: float = 0.01) -> None:
        self.queue = WriterQueue()
        self._engine = engine
        self._wait_s = wait_s
        self._batch_max = batch_max
        self._batch_window_s = batch_window_s
        self._conn: Connection | None = None
        self._batch: _Batch | None = None
        self._synchronous = "FULL"  # the write connection's level, set by _begin
        self._commit_s = 0.0  # how long the last durable COMMIT took

    def begin(self, *, wait: bool = True) -> WriteTurn | None:
        """Take this process's write turn and open a unit. With wait=False, None unless both the turn
        and SQLite's write lock are free at once (for skippable bookkeeping).

        Raises:
            DatabaseUnavailable: no turn within the busy timeout.
            OperationalError: another process held SQLite's lock for the whole busy timeout.
        """
        started = time.perf_counter()
        try:
            if wait:
                if not self.queue.acquire(self._wait_s):
                    raise DatabaseUnavailable(f"no write turn within {self._wait_s:g} s")
            elif not self.queue.try_acquire():
                return None
            try:
                conn = self._connection()
                if self._batch is None:
                    if not self._begin(conn, wait=wait):
                        self._end_turn()
                        return None
                    self._batch = _Batch(durable=wait)
                sqlite_execute(conn, "SAVEPOINT unit")
            except BaseException:
                self._end_turn()
                raise
            return WriteTurn(self, conn, self._batch)
        finally:  # the wait for the turn and SQLite's lock; one that ran out counts too
            observe_lock_wait(time.perf_counter() - started)

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect().execution_options(prefixgate_write=True)
        return self._conn

    def _begin(self, conn: Connection, *, wait: bool) -> bool:
        """BEGIN IMMEDIATE (engine.py): waiting up to the busy timeout for another process's lock, or,
        with wait=False, not at all and without an fsync at COMMIT. A connection whose BEGIN failed is not
        used again."""
        try:
            self._set_synchronous(conn, "FULL" if wait else "NORMAL")
            if wait:
                conn.begin()
                return True
            usual = sqlite_execute(conn, "PRAGMA busy_timeout").fetchone()[0]
            sqlite_execute(conn, "PRAGMA busy_timeout=0")
            try:
                conn.begin()
            finally:
                sqlite_execute(conn, f"PRAGMA busy_timeout={int(usual)}")
            return True
        except OperationalError:
            self._discard_connection()
            if wait:
                raise
            return False
        except BaseException:
            self._discard_connection()
            raise

    def _set_synchronous(self, conn: Connection, level: str) -> None:
        if self._synchronous != level:
            sqlite_execute(conn, f"PRAGMA synchronous={level}")
            self._synchronous = level

    def _end_turn(self) -> None:
        """Called by the turn's holder: commit the shared transaction unless queued writers can still
        join it, then pass the turn on."""
        try:
            batch = self._batch
            if batch is None:
                return
            window = max(self._batch_window_s, self._commit_s)
            full = batch.units >= self._batch_max or time.monotonic() - batch.started >= window
            if self.queue.waiting and batch.durable and not full:
                return
            self._batch = None
            conn = self._connection()
            try:
                if batch.units:
                    started = time.monotonic()
                    conn.commit()
                    if batch.durable:
                        self._commit_s = time.monotonic() - started
                else:
                    conn.rollback()
            except BaseException as exc:
                self._discard_connection()
                batch.finish(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                batch.finish(None)
        finally:
            self.queue.release()

    def _fail_batch(self, error: BaseException) -> None:
        """The shared transaction is lost (SQLite rolled it back on a severe error)."""
        batch, self._batch = self._batch, None
        self._discard_connection()
        if batch is not None:
            batch.finish(error)

    def _discard_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._synchronous = "FULL"  # a new connection starts at engine.py's level
        if conn is not None:
            try:
                conn.invalidate()
            finally:
                conn.close()

    @property
    def commit_timeout_s(self) -> float:
        return self._wait_s + 30

    def close(self) -> None:
        if self.queue.acquire(self._wait_s):
            try:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
            finally:
                self.queue.release()


class WriteTurn:
    """One writer's unit: a savepoint in the shared transaction, on the write connection, holding the turn."""

    def __init__(self, writer: SqliteWriter, conn: Connection, batch: _Batch) -> None:
        self._writer = writer
        self.conn = conn
        self._batch = batch
        self.ended = False

    def commit(self) -> None:
        """Keep this unit's changes, pass the turn on, and return once they are on disk.

        Raises:
            DatabaseUnavailable: the shared commit failed; nothing of this unit was stored.
        """
        try:
            sqlite_execute(self.conn, "RELEASE SAVEPOINT unit")
        except BaseException:
            self.rollback()
            raise
        self.ended = True
        self._batch.units += 1
        self._writer._end_turn()
        self._batch.wait_durable(self._writer.commit_timeout_s)

    def rollback(self) -> None:
        """Undo this unit only, and pass the turn on."""
        if self.ended:
            return
        self.ended = True
        try:
            sqlite_execute(self.conn, "ROLLBACK TO SAVEPOINT unit")
            sqlite_execute(self.conn, "RELEASE SAVEPOINT unit")
            if not self.conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                raise DatabaseUnavailable("SQLite rolled back the whole transaction")
        except BaseException as exc:
            self._writer._fail_batch(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._writer._end_turn()

"""Each API process's watch on the edge feed's head, shared by all its long polls.

A waiter is a coroutine awaiting an asyncio event: it holds no database connection and no thread.
- PostgreSQL: one LISTEN connection per process (psycopg, on the event loop). Every commit that takes a
  revision notifies at COMMIT (outbox.py), which wakes every waiter. After connecting (and reconnecting:
  notifications sent meanwhile are lost) the head is read once, so nothing committed in between is missed.
- SQLite: one task per process reads `edge_head` every 25 ms while anybody waits (in the executor: a
  short read on a pooled connection), and not at all otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

import psycopg
from sqlalchemy import Engine

from ...metrics import feed_head_seen, feed_wait_ended, feed_wait_started
from .outbox import CHANNEL, read_head
from .uow import SqlDatabase

__all__ = ["HeadWatcher", "PostgresHeadWatcher", "SqliteHeadWatcher", "head_watcher"]

log = logging.getLogger("prefixgate.edge_feed")

POLL_S: Final = 0.025
_RETRY_MIN_S: Final = 0.1
_RETRY_MAX_S: Final = 5.0


class HeadWatcher:
    """The newest revision this process knows is committed, and the waiters for a newer one."""

    def __init__(self) -> None:
        self.head = -1  # not known yet
        self._advanced: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.waiting = 0

    def _event(self) -> asyncio.Event:
        if self._advanced is None:
            self._advanced = asyncio.Event()
        return self._advanced

    def advance(self, revision: int) -> None:
        """`revision` is committed: wake the waiters (on the event loop's thread)."""
        if revision > self.head:
            self.head = revision
            feed_head_seen(revision)
            self._wake()

    def _wake(self) -> None:
        event, self._advanced = self._event(), asyncio.Event()
        event.set()

    async def wait_beyond(self, revision: int, timeout_s: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        self.waiting += 1
        feed_wait_started()
        self._demand()
        try:
            while self.head <= revision:
                remaining = deadline - loop.time()
                if self._closed or remaining <= 0:
                    return False
                event = self._event()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
            return True
        finally:
            self.waiting -= 1
            feed_wait_ended()

    def _demand(self) -> None:
        """A waiter arrived (the SQLite poller wakes up)."""

    def start(self) -> None:
        """Start watching, on the running event loop (the application's lifespan)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="prefixgate-feed-watch")

    async def _run(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        """Release every waiter, now and later (each answers with what it has): the server is stopping."""
        self._closed = True
        self._wake()

    async def stop(self) -> None:
        """Stop watching and release every waiter."""
        self.release()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class SqliteHeadWatcher(HeadWatcher):
    def __init__(self, db: SqlDatabase, *, interval_s: float = POLL_S) -> None:
        super().__init__()
        self._db = db
        self._interval_s = interval_s
        self._wanted: asyncio.Event | None = None

    def _want(self) -> asyncio.Event:
        if self._wanted is None:
            self._wanted = asyncio.Event()
        return self._wanted

    def _demand(self) -> None:
        self._want().set()

    def _read(self) -> int:
        # One statement, atomic on its own: no BEGIN and ROLLBACK around it (engine.py's begin hook).
        with self._db.engine.connect().execution_options(prefixgate_read=True) as conn:
            return read_head(conn)[0]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.waiting:
                self._want().clear()
                await self._want().wait()
            try:
                self.advance(await loop.run_in_executor(None, self._read))
            except Exception as exc:  # a locked or missing database: waiters time out, polling goes on
                log.warning("edge_feed.poll_failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(self._interval_s)


def _conninfo(engine: Engine) -> str:
    """libpq's URI for the engine's database (SQLAlchemy's URL without its driver name)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresHeadWatcher(HeadWatcher):
    def __init__(self, engine: Engine, *, connect_timeout_s: int = 5) -> None:
        super().__init__()
        self._conninfo = _conninfo(engine)
        self._connect_timeout_s = connect_timeout_s
        self.connected = asyncio.Event()  # set while listening

    async def _run(self) -> None:
        retry = _RETRY_MIN_S
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as exc:
                log.warning("edge_feed.listen_failed", extra={"error": type(exc).__name__})
            # Quickly again after a connection that worked; backing off while the server stays away.
            retry = _RETRY_MIN_S if self.connected.is_set() else min(retry * 2, _RETRY_MAX_S)
            self.connected.clear()
            await asyncio.sleep(retry)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=self._connect_timeout_s,
            # A server gone without a word must not leave the watch deaf: keepalives end the connection.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            application_name="prefixgate-feed-watch",
        )
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            cur = await conn.execute("SELECT revision FROM edge_head WHERE id = 1")
            row = await cur.fetchone()
            if row is not None:
                self.advance(int(row[0]))
            self.connected.set()
            async for notify in conn.notifies():
                with contextlib.suppress(ValueError):
                    self.advance(int(notify.payload))


def head_watcher(db: SqlDatabase, *, connect_timeout_s: int = 5) -> HeadWatcher:
    """The watch for this process's database."""
    if db.postgres:
        return PostgresHeadWatcher(db.engine, connect_timeout_s=connect_timeout_s)
    return SqliteHeadWatcher(db)

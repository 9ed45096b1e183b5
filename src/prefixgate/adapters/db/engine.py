"""Engines for SQLite (embedded default) and PostgreSQL, with each engine's specifics here only."""

from __future__ import annotations

import select
import sqlite3
import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import QueuePool

__all__ = ["is_postgres", "make_engine", "pool_has_room", "sqlite_busy_timeout_s", "sqlite_execute"]

# How long a SQLite writer waits for another's write lock before the request fails with 503.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Connections per process: the pool, and how many more it may open while all of them are in use.
_PG_POOL_SIZE, _PG_MAX_OVERFLOW = 10, 10
# A pooled PostgreSQL connection idle this long is pinged before use.
_PING_AFTER_IDLE_S = 1.0
# The thread pool runs up to 40 requests at once; reads on SQLite never wait for each other (WAL).
_SQLITE_POOL_SIZE = 40


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def sqlite_execute(conn: Connection, sql: str) -> Any:
    """Run one parameterless statement (BEGIN, SAVEPOINT …) on the driver connection directly: SQLAlchemy's
    statement path costs more than such a statement itself. Driver errors surface as SQLAlchemy's, so they
    are answered like any other database error (503 for a held lock)."""
    try:
        return conn.connection.dbapi_connection.execute(sql)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc


def pool_has_room(engine: Engine) -> bool:
    """Whether `engine`'s pool can hand out a connection without waiting: an idle one, or room to open
    one. A glance, not a reservation (another thread may take it first)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return True
    room = int(engine.get_execution_options().get("prefixgate_max_overflow", 0))
    return pool.checkedin() > 0 or pool.overflow() < room


def sqlite_busy_timeout_s(engine: Engine) -> float:
    """How long a SQLite writer waits for the write lock (its turn in this process, then SQLite's lock)."""
    ms = engine.get_execution_options().get("prefixgate_busy_timeout_ms", SQLITE_BUSY_TIMEOUT_MS)
    return float(ms) / 1000


def make_engine(
    url: str,
    *,
    statement_timeout_ms: int = 15_000,
    connect_timeout_s: int = 5,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
) -> Engine:
    """Create an engine for `url` (sqlite:///… or postgresql+psycopg://…)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(url, busy_timeout_ms=sqlite_busy_timeout_ms)
    connect_args: dict[str, Any] = {
        "connect_timeout": connect_timeout_s,
        "options": f"-c statement_timeout={statement_timeout_ms} -c lock_timeout={statement_timeout_ms}",
        # A server that vanishes without a reset (a partition, a dead host) must not hang a worker:
        # unacknowledged data gives up after tcp_user_timeout, idle pooled connections via keepalives.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": statement_timeout_ms + connect_timeout_s * 1000,
    }
    engine = create_engine(
        url,
        pool_size=_PG_POOL_SIZE,
        max_overflow=_PG_MAX_OVERFLOW,
        pool_timeout=connect_timeout_s,
        connect_args=connect_args,
        execution_options={"prefixgate_max_overflow": _PG_MAX_OVERFLOW},
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Make sure a pooled connection is alive before handing it out, without a round trip per request.

    SQLAlchemy's pool_pre_ping sends `SELECT 1` at every checkout. Instead: a connection idle for
    `_PING_AFTER_IDLE_S` or more is pinged that way; one given back moments ago is checked for data
    waiting on its socket, which an idle session has only when the server ended it (a restart, a
    terminated backend: the server's goodbye and EOF are there to read). Either failing makes the pool
    connect anew. A server that vanished without a word is caught by the TCP user timeout.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["prefixgate_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("prefixgate_idle_since")
        if since is None:
            return  # a new connection
        try:
            if time.monotonic() - since >= _PING_AFTER_IDLE_S:
                dbapi_conn.execute("SELECT 1")
                dbapi_conn.rollback()
            elif select.select([dbapi_conn.fileno()], [], [], 0)[0]:
                raise DisconnectionError("the server ended this pooled session")
        except DisconnectionError:
            raise
        except Exception as exc:
            raise DisconnectionError("pooled connection is gone") from exc  # the pool connects anew


def _sqlite(url: str, *, busy_timeout_ms: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        execution_options={"prefixgate_busy_timeout_ms": busy_timeout_ms},
        # One connection per request in flight, kept: an overflow connection would be opened (with
        # its pragmas) and closed again for every request beyond the pool.
        pool_size=_SQLITE_POOL_SIZE,
        max_overflow=_SQLITE_POOL_SIZE,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself, so writers can say IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "synchronous=FULL",
            f"busy_timeout={int(busy_timeout_ms)}",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A write transaction takes the write lock up front: a check-then-write can never
        # be overtaken between its read and its write (and never fails on lock upgrade).
        options = conn.get_execution_options()
        if options.get("prefixgate_read"):
            return  # a read unit: every statement is atomic on its own (see SqlDatabase.begin)
        sqlite_execute(conn, "BEGIN IMMEDIATE" if options.get("prefixgate_write") else "BEGIN DEFERRED")

    return engine

"""Unit of work over one connection: rolls back unless commit() is called."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from time import perf_counter

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from ...metrics import observe_lock_wait, observe_transaction
from .engine import is_postgres
from .repos.addressing import SqlDelegationRepo, SqlPrefixRepo
from .repos.audit import SqlAuditRepo
from .repos.identity import SqlAccountRepo, SqlMembershipRepo, SqlTokenRepo, SqlUserRepo
from .repos.spectrum import SqlSpectrumRepo
from .repos.stats import SqlStatsRepo
from .repos.zones import SqlBindingRepo, SqlZoneRepo

__all__ = ["SqlDatabase", "SqlUnitOfWork"]


class SqlUnitOfWork:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self._conn = conn
        self.users = SqlUserRepo(conn)
        self.accounts = SqlAccountRepo(conn)
        self.members = SqlMembershipRepo(conn, postgres=postgres)
        self.tokens = SqlTokenRepo(conn)
        self.prefixes = SqlPrefixRepo(conn, postgres=postgres)
        self.delegations = SqlDelegationRepo(conn)
        self.audit = SqlAuditRepo(conn)
        self.zones = SqlZoneRepo(conn)
        self.bindings = SqlBindingRepo(conn)
        self.spectrum = SqlSpectrumRepo(conn, postgres=postgres)
        self.stats = SqlStatsRepo(conn)
        self.committed = False

    def commit(self) -> None:
        self._conn.commit()
        self.committed = True


class SqlDatabase:
    """The `Database` port on SQLAlchemy: read and write units of work."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = is_postgres(engine)

    @contextmanager
    def _unit(self, *, write: bool) -> Iterator[SqlUnitOfWork]:
        with self.engine.connect() as conn:
            if write:
                conn = conn.execution_options(prefixgate_write=True)
            started = perf_counter()
            try:
                conn.begin()
            finally:  # SQLite's BEGIN IMMEDIATE waits here for the write lock (a wait that timed out counts too)
                if write and not self.postgres:
                    observe_lock_wait(perf_counter() - started)
            uow = SqlUnitOfWork(conn, postgres=self.postgres)
            try:
                yield uow
            finally:
                if not uow.committed:
                    conn.rollback()
                observe_transaction("write" if write else "read", perf_counter() - started)

    def read(self) -> AbstractContextManager[SqlUnitOfWork]:
        return self._unit(write=False)

    def write(self) -> AbstractContextManager[SqlUnitOfWork]:
        return self._unit(write=True)

    @contextmanager
    def write_if_free(self) -> Iterator[SqlUnitOfWork | None]:
        """A write unit if the write lock can be had at once; otherwise None, without waiting."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(prefixgate_write=True)
            if not self._begin_without_waiting(conn):
                yield None
                return
            uow = SqlUnitOfWork(conn, postgres=self.postgres)
            try:
                yield uow
            finally:
                if not uow.committed:
                    conn.rollback()

    def _begin_without_waiting(self, conn: Connection) -> bool:
        if self.postgres:  # no database-wide write lock; row locks are bounded by lock_timeout
            conn.begin()
            return True
        # SQLite: BEGIN IMMEDIATE with a busy timeout of 0 for this once, then the usual one again.
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        try:
            cur.execute("PRAGMA busy_timeout")
            row = cur.fetchone()
            assert row is not None
            usual = int(row[0])
            cur.execute("PRAGMA busy_timeout=0")
            try:
                conn.begin()
            except OperationalError:
                return False
            finally:
                cur.execute(f"PRAGMA busy_timeout={usual}")
        finally:
            cur.close()
        return True

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()

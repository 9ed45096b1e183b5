"""Units of work over SQLAlchemy connections: each rolls back unless commit() is called."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from .engine import is_postgres, sqlite_busy_timeout_s
from .repos.addressing import SqlDelegationRepo, SqlPrefixRepo
from .repos.audit import SqlAuditRepo
from .repos.identity import SqlAccountRepo, SqlMembershipRepo, SqlTokenRepo, SqlUserRepo
from .repos.spectrum import SqlSpectrumRepo
from .repos.zones import SqlBindingRepo, SqlZoneRepo
from .writers import WriterQueue

__all__ = ["DatabaseBusy", "SqlDatabase", "SqlUnitOfWork", "Transaction"]


class DatabaseBusy(Exception):
    """A writer waited its whole busy timeout for its turn; the request is answered 503."""


class _Ends(Protocol):
    committed: bool

    def commit(self) -> None: ...


class _Lent:
    """Stands in for the transaction of a lent unit: the owner of the transaction commits it."""

    committed = False

    def commit(self) -> None:
        pass


class SqlUnitOfWork:
    def __init__(self, tx: _Ends, conn: Connection, *, postgres: bool) -> None:
        self._tx = tx
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

    @property
    def committed(self) -> bool:
        return self._tx.committed

    @property
    def changes_credentials(self) -> bool:
        """Whether this unit removed a token or added, removed or changed a membership (cached credentials must go)."""
        return self.tokens.changed or self.members.changed

    def commit(self) -> None:
        self._tx.commit()


class Transaction:
    """One pooled connection and the transaction open on it. A SQLite write transaction also holds
    this process's writer turn until it ends. close() rolls back whatever was not committed."""

    def __init__(self, db: SqlDatabase, conn: Connection, *, write: bool, holds_turn: bool) -> None:
        self._db = db
        self._conn = conn
        self.write = write
        self._holds_turn = holds_turn
        self.committed = False
        self.ended = False
        self.uow = SqlUnitOfWork(self, conn, postgres=db.postgres)

    def lent_unit(self) -> SqlUnitOfWork:
        """A unit on this transaction whose commit() does nothing: its writes commit (or roll back)
        together with the transaction's own, for bookkeeping that rides along with a request's write."""
        return SqlUnitOfWork(_Lent(), self._conn, postgres=self._db.postgres)

    def commit(self) -> None:
        self._conn.commit()
        self.committed = self.ended = True
        self._end_turn()
        if self.uow.changes_credentials:
            self._db.credentials_changed()

    def rollback(self) -> None:
        if not self.ended:
            self.ended = True
            try:
                self._conn.rollback()
            finally:
                self._end_turn()

    def close(self) -> None:
        try:
            self.rollback()
        finally:
            self._end_turn()
            self._conn.close()

    def _end_turn(self) -> None:
        if self._holds_turn:
            self._holds_turn = False
            self._db.writers.release()


class SqlDatabase:
    """The `Database` port on SQLAlchemy: read and write units of work.

    On SQLite, write units of this process take turns in arrival order (WriterQueue) before BEGIN
    IMMEDIATE, instead of racing in SQLite's busy handler.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = is_postgres(engine)
        self.writers = WriterQueue()
        self._writer_wait_s = 0.0 if self.postgres else sqlite_busy_timeout_s(engine)
        self._credential_listeners: list[Callable[[], None]] = []

    def on_credentials_changed(self, listener: Callable[[], None]) -> None:
        """Call `listener` after each commit of this process that removed a token or touched a membership."""
        self._credential_listeners.append(listener)

    def credentials_changed(self) -> None:
        for listener in self._credential_listeners:
            listener()

    def begin(self, *, write: bool) -> Transaction:
        """Open a transaction (a write one takes the write lock up front).

        Raises:
            DatabaseBusy: a SQLite writer's turn did not come within the busy timeout.
        """
        holds_turn = write and not self.postgres
        if holds_turn and not self.writers.acquire(self._writer_wait_s):
            raise DatabaseBusy(f"no write turn within {self._writer_wait_s:g} s")
        try:
            conn = self.engine.connect()
        except BaseException:
            if holds_turn:
                self.writers.release()
            raise
        try:
            if write:
                conn = conn.execution_options(prefixgate_write=True)
            conn.begin()
        except BaseException:
            conn.close()
            if holds_turn:
                self.writers.release()
            raise
        return Transaction(self, conn, write=write, holds_turn=holds_turn)

    @contextmanager
    def _unit(self, *, write: bool) -> Iterator[SqlUnitOfWork]:
        tx = self.begin(write=write)
        try:
            yield tx.uow
        finally:
            tx.close()

    def read(self) -> AbstractContextManager[SqlUnitOfWork]:
        return self._unit(write=False)

    def write(self) -> AbstractContextManager[SqlUnitOfWork]:
        return self._unit(write=True)

    @contextmanager
    def write_if_free(self) -> Iterator[SqlUnitOfWork | None]:
        """A write unit if the write lock can be had at once; otherwise None, without waiting."""
        if not self.postgres and not self.writers.try_acquire():
            yield None
            return
        holds_turn = not self.postgres
        try:
            conn = self.engine.connect().execution_options(prefixgate_write=True)
        except BaseException:
            if holds_turn:
                self.writers.release()
            raise
        tx = Transaction(self, conn, write=True, holds_turn=holds_turn)
        try:
            if not self._begin_without_waiting(conn):
                tx.ended = True  # nothing began: nothing to roll back
                yield None
                return
            yield tx.uow
        finally:
            tx.close()

    def _begin_without_waiting(self, conn: Connection) -> bool:
        if self.postgres:  # no database-wide write lock; row locks are bounded by lock_timeout
            conn.begin()
            return True
        # SQLite: BEGIN IMMEDIATE with a busy timeout of 0 for this once (another process may hold
        # the lock), then the usual one again.
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

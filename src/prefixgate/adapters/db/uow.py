"""Units of work over SQLAlchemy connections: each rolls back unless commit() is called."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from time import perf_counter
from typing import Protocol

from sqlalchemy import Connection, Engine, text

from ...metrics import observe_transaction
from .engine import is_postgres, pool_has_room, sqlite_busy_timeout_s
from .outbox import DEFAULT_KEEP, publish
from .repos.address_maps import SqlAddressMapRepo
from .repos.addressing import SqlDelegationRepo, SqlPrefixRepo
from .repos.audit import SqlAuditRepo
from .repos.edge_feed import SqlEdgeFeedRepo
from .repos.edge_state import SqlEdgeStateRepo
from .repos.hostnames import SqlFallbackOriginRepo, SqlHostnameRepo
from .repos.identity import SqlAccountRepo, SqlMembershipRepo, SqlTokenRepo, SqlUserRepo
from .repos.spectrum import SqlSpectrumRepo
from .repos.stats import SqlStatsRepo
from .repos.web import SqlLoginFailureRepo, SqlSessionRepo
from .repos.zones import SqlBindingRepo, SqlZoneRepo
from .sqlite_writer import DatabaseUnavailable, SqliteWriter, WriteTurn

__all__ = ["DatabaseUnavailable", "SqlDatabase", "SqlUnitOfWork", "Transaction"]


class _Ends(Protocol):
    committed: bool

    def commit(self) -> None: ...


class _Lent:
    """Stands in for the transaction of a lent unit: the owner of the transaction commits it."""

    committed = False

    def commit(self) -> None:
        pass


class SqlUnitOfWork:
    def __init__(
        self, tx: _Ends, conn: Connection, *, postgres: bool, notes: dict[tuple[str, str], None] | None = None
    ) -> None:
        self._tx = tx
        # The serving entities this unit changed, in order (a dict as an ordered set), shared with lent units.
        self._notes: dict[tuple[str, str], None] = {} if notes is None else notes
        self.committed_revision: int | None = None  # the edge-feed revision it committed as, if any
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
        self.hostnames = SqlHostnameRepo(conn, postgres=postgres)
        self.fallback_origins = SqlFallbackOriginRepo(conn)
        self.address_maps = SqlAddressMapRepo(conn, postgres=postgres)
        self.stats = SqlStatsRepo(conn)
        self.sessions = SqlSessionRepo(conn)
        self.login_failures = SqlLoginFailureRepo(conn, postgres=postgres)
        self.edge_feed = SqlEdgeFeedRepo(conn, postgres=postgres)
        self.edge_state = SqlEdgeStateRepo(conn)

    def note_change(self, kind: str, entity_id: str) -> None:
        """The entity (kind as prefixgate.edge.state names it) changed serving: the commit gives it a revision."""
        self._notes[(kind, entity_id)] = None

    @property
    def noted_changes(self) -> list[tuple[str, str]]:
        return list(self._notes)

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
    """A unit of work's transaction: on a pooled connection of its own (reads; PostgreSQL writes), or a
    SQLite write turn (a savepoint on the process's write connection, see sqlite_writer.py).
    close() rolls back whatever was not committed."""

    def __init__(
        self, db: SqlDatabase, conn: Connection, *, write: bool, started: float, turn: WriteTurn | None = None
    ) -> None:
        self._db = db
        self._started = started  # when it was asked for: a SQLite writer's wait for its turn counts
        self._conn = conn
        self._turn = turn
        self.write = write
        self.committed = False
        self.ended = False
        self.uow = SqlUnitOfWork(self, conn, postgres=db.postgres)

    @property
    def connection(self) -> Connection:
        return self._conn

    def lent_unit(self) -> SqlUnitOfWork:
        """A unit on this transaction whose commit() does nothing: its writes commit (or roll back)
        together with the transaction's own, for bookkeeping that rides along with a request's write."""
        return SqlUnitOfWork(_Lent(), self._conn, postgres=self._db.postgres, notes=self.uow._notes)

    def commit(self) -> None:
        # The feed's revision comes last, right before COMMIT (outbox.py). If it fails, the transaction
        # is still open (not ended) and close() rolls it back.
        notes = self.uow.noted_changes
        revision = (
            publish(self._conn, notes, postgres=self._db.postgres, keep=self._db.edge_feed_keep) if notes else None
        )
        self.ended = True
        try:
            if self._turn is not None:
                self._turn.commit()
            else:
                self._conn.commit()
        finally:
            self._observe()
        self.committed = True
        self.uow.committed_revision = revision
        if self.uow.changes_credentials:
            self._db.credentials_changed()

    def rollback(self) -> None:
        if self.ended:
            return
        self.ended = True
        try:
            if self._turn is not None:
                self._turn.rollback()
            else:
                self._conn.rollback()
        finally:
            self._observe()

    def _observe(self) -> None:
        observe_transaction("write" if self.write else "read", perf_counter() - self._started)

    def close(self) -> None:
        try:
            self.rollback()
        finally:
            if self._turn is None:
                self._conn.close()


class SqlDatabase:
    """The `Database` port on SQLAlchemy: read and write units of work.

    Reads (and PostgreSQL writes) take a pooled connection each. SQLite writes of this process take
    turns in arrival order on one write connection and share commits (sqlite_writer.py).
    """

    def __init__(self, engine: Engine, *, edge_feed_keep: int = DEFAULT_KEEP) -> None:
        self.engine = engine
        self.postgres = is_postgres(engine)
        self.edge_feed_keep = edge_feed_keep  # revisions whose changes the feed keeps
        self.sqlite_writer = None if self.postgres else SqliteWriter(engine, wait_s=sqlite_busy_timeout_s(engine))
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
            DatabaseUnavailable: a SQLite writer's turn did not come within the busy timeout.
        """
        started = perf_counter()
        if write and self.sqlite_writer is not None:
            turn = self.sqlite_writer.begin()
            assert turn is not None
            return Transaction(self, turn.conn, write=True, started=started, turn=turn)
        conn = self.engine.connect()
        try:
            if write:
                conn = conn.execution_options(prefixgate_write=True)
            elif self.postgres:
                # A read at READ COMMITTED sees what was committed when each statement began, inside a
                # transaction or not: without one it skips the BEGIN and ROLLBACK round trips.
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            else:
                # The same on SQLite: each statement of a read reads its own committed snapshot (WAL),
                # without a BEGIN and ROLLBACK of its own (engine.py's begin hook skips them).
                conn = conn.execution_options(prefixgate_read=True)
            conn.begin()
        except BaseException:
            conn.close()
            raise
        return Transaction(self, conn, write=write, started=started)

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
    def consistent_read(self) -> Iterator[SqlUnitOfWork]:
        """A read unit whose statements all see one snapshot (the edge feed's state at one revision):
        REPEATABLE READ READ ONLY on PostgreSQL; on SQLite one read transaction (BEGIN DEFERRED: its
        snapshot is taken by the first SELECT and kept until the ROLLBACK). It writes nothing."""
        started = perf_counter()
        conn = self.engine.connect()
        try:
            if self.postgres:
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            conn.begin()
            tx = Transaction(self, conn, write=False, started=started)
        except BaseException:
            conn.close()
            raise
        try:
            yield tx.uow
        finally:
            tx.close()

    @contextmanager
    def write_if_free(self) -> Iterator[SqlUnitOfWork | None]:
        """A write unit if the write lock can be had at once; otherwise None, without waiting.

        On PostgreSQL there is no database-wide write lock, and row locks are bounded by lock_timeout;
        but the unit needs a pooled connection, and its callers often hold one (a read unit's). So it is
        skipped too when no connection is free at once: with every connection held by a caller waiting
        for a second, none would come back until the pool's timeout.
        """
        if self.sqlite_writer is None:
            if not pool_has_room(self.engine):
                yield None
                return
            with self.write() as uow:
                yield uow
            return
        started = perf_counter()
        turn = self.sqlite_writer.begin(wait=False)
        if turn is None:
            yield None
            return
        tx = Transaction(self, turn.conn, write=True, started=started, turn=turn)
        try:
            yield tx.uow
        finally:
            tx.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        if self.sqlite_writer is not None:
            self.sqlite_writer.close()
        self.engine.dispose()

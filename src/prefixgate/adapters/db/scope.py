"""The Database port for one HTTP request: one unit of work that the whole request shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

from ...service.ports import Database
from .uow import SqlDatabase, SqlUnitOfWork, Transaction

__all__ = ["BeforeRoute", "RequestScope"]

T = TypeVar("T")


class RequestScope:
    """Every read() and write() inside one request joins one unit of work on one connection:
    authentication, the membership lookup and the route's own queries. A write unit is one transaction;
    a read unit runs each statement on its own committed snapshot (see SqlDatabase.begin).

    A request that changes state (`write=True`) begins that transaction as a write, so the write lock
    (SQLite: this process's writer turn, then BEGIN IMMEDIATE) is taken up front and the checks see the
    state the write will change. A read-only request that must write after all (skippable bookkeeping
    aside) ends its read unit first: SQLite cannot upgrade a read safely, and PostgreSQL reads run
    without a transaction of their own (see SqlDatabase.begin).

    commit() ends the transaction; a later unit in the same request begins a new one. A unit left by
    an exception rolls the transaction back, and close() rolls back whatever was not committed.

    A hop into the thread pool before the route's own (authentication's) runs through `before_route`:
    its reads never begin the write transaction, and its connection goes back before the hop ends. So a
    request holds neither the write lock nor a pooled connection while it waits for a thread for its next
    hop. Held so, either would wait for a thread while every thread could be waiting for it (a writer for
    SQLite's lock, anyone for PostgreSQL's pool): nothing went on until those waits ran out, and a burst
    of requests was answered 503 (tested: tests/api/test_write_burst.py).
    """

    def __init__(self, db: SqlDatabase, *, write: bool) -> None:
        self._db = db
        self._write = write
        self._tx: Transaction | None = None

    @property
    def is_open(self) -> bool:
        return self._tx is not None

    def read(self) -> AbstractContextManager[SqlUnitOfWork]:
        return self._join(write=self._write)

    def before_route(self, fn: Callable[[Database], T]) -> T:
        """`fn(db)` in a hop before the route's: reads as reads, bookkeeping only if the lock is free, and
        the connection given back at the end."""
        try:
            return fn(BeforeRoute(self))
        finally:
            self.close()

    def write(self) -> AbstractContextManager[SqlUnitOfWork]:
        return self._join(write=True)

    @contextmanager
    def write_if_free(self) -> Iterator[SqlUnitOfWork | None]:
        """Skippable bookkeeping. In a write request it rides the request's own transaction (the writer
        turn is this request's already); otherwise it gets a unit of its own if the lock is free."""
        tx = self._tx
        if tx is not None and tx.write and not tx.ended:
            yield tx.lent_unit()
            return
        with self._db.write_if_free() as unit:
            yield unit

    def consistent_read(self) -> AbstractContextManager[SqlUnitOfWork]:
        """A read transaction of its own, on one snapshot (SqlDatabase.consistent_read). The request's read
        unit (authentication's) ends first, so nothing of the request holds a connection afterwards: a
        long poll waits between two of these without one.

        Raises:
            RuntimeError: the request's write transaction is still open (it would be lost).
        """
        tx = self._tx
        if tx is not None and tx.write and not tx.ended:
            raise RuntimeError("a consistent read cannot start while the request's write is open")
        self.close()
        return self._db.consistent_read()

    def ping(self) -> None:
        self._db.ping()

    @contextmanager
    def _join(self, *, write: bool) -> Iterator[SqlUnitOfWork]:
        tx = self._tx
        if tx is not None and (tx.ended or (write and not tx.write)):
            self.close()
            tx = None
        if tx is None:
            tx = self._tx = self._db.begin(write=write)
        try:
            yield tx.uow
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Roll back what was not committed and give the connection back."""
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.close()


class BeforeRoute:
    """The request's scope as RequestScope.before_route lends it: reads join a read unit (the route's
    hop begins its own), and bookkeeping, which comes after them, gets a unit of its own only if the
    write lock is free at once."""

    def __init__(self, scope: RequestScope) -> None:
        self._scope = scope

    def read(self) -> AbstractContextManager[SqlUnitOfWork]:
        return self._scope._join(write=False)

    def write(self) -> AbstractContextManager[SqlUnitOfWork]:
        raise RuntimeError("a write waits for the lock: only the route's own hop may take it")

    def write_if_free(self) -> AbstractContextManager[SqlUnitOfWork | None]:
        """Ends the reads' unit first, so the hop never holds two pooled connections: with every
        connection held by a hop waiting for a second, none would come back."""
        self._scope.close()
        return self._scope.write_if_free()

    def consistent_read(self) -> AbstractContextManager[SqlUnitOfWork]:
        return self._scope.consistent_read()

    def ping(self) -> None:
        self._scope.ping()

"""The Database port for one HTTP request: one unit of work that the whole request shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from .uow import SqlDatabase, SqlUnitOfWork, Transaction

__all__ = ["RequestScope"]


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

"""SQLite group commit (adapters/db/sqlite_writer.py) on a real database file.

Writers queued behind each other share one COMMIT, each in a savepoint of its own: a unit's commit()
returns only once its changes are committed (visible to every other connection), a unit that fails
leaves the others' changes alone, and a shared COMMIT that fails fails every unit in it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from prefixgate.adapters.db.engine import make_engine
from prefixgate.adapters.db.migrate import upgrade
from prefixgate.adapters.db.sqlite_writer import SqliteWriter
from prefixgate.adapters.db.uow import DatabaseUnavailable, SqlDatabase
from prefixgate.domain.model import Account
from prefixgate.service.context import new_id, utcnow


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqlDatabase]:
    database = SqlDatabase(make_engine(f"sqlite:///{tmp_path}/writer.db"))
    upgrade(database.engine)
    yield database
    database.dispose()


def _account(name: str) -> Account:
    return Account(id=new_id(), name=name, type="standard", created_at=utcnow())


def _stored(db: SqlDatabase, account_id: str) -> bool:
    with db.engine.connect() as conn:  # a connection of its own: sees only what was committed
        return conn.execute(text("SELECT 1 FROM accounts WHERE id = :i"), {"i": account_id}).first() is not None


def _queue_behind(db: SqlDatabase, pool: ThreadPoolExecutor, fn: Callable[[], object]) -> Future[object]:
    """Start `fn` (which opens a write unit) and return once it waits in line for the write turn."""
    assert db.sqlite_writer is not None
    before = db.sqlite_writer.queue.waiting
    future = pool.submit(fn)
    deadline = time.monotonic() + 10
    while db.sqlite_writer.queue.waiting == before and time.monotonic() < deadline:
        time.sleep(0.001)
    assert db.sqlite_writer.queue.waiting == before + 1
    return future


def test_queued_writers_share_a_commit_and_each_sees_its_own_durable(db: SqlDatabase) -> None:
    first, good, bad = _account("first"), _account("good"), _account("bad")

    def write_good() -> bool:
        with db.write() as uow:
            uow.accounts.add(good)
            uow.commit()
        return _stored(db, good.id)  # acknowledged, so already committed for everyone

    def write_bad() -> None:
        with db.write() as uow:
            uow.accounts.add(bad)
            raise RuntimeError("this unit fails after writing")

    with ThreadPoolExecutor(2) as pool, db.write() as uow:
        uow.accounts.add(first)
        failing = _queue_behind(db, pool, write_bad)
        succeeding = _queue_behind(db, pool, write_good)
        uow.commit()  # others are queued: the transaction stays open for them, then commits
        assert _stored(db, first.id)
        with pytest.raises(RuntimeError):
            failing.result(timeout=10)
        assert succeeding.result(timeout=10) is True
    assert _stored(db, first.id) and _stored(db, good.id)
    assert not _stored(db, bad.id)


def test_a_failed_shared_commit_fails_every_unit_in_it(db: SqlDatabase) -> None:
    # A deferred foreign key is checked only at COMMIT: a real way to make the shared COMMIT fail.
    with db.engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE scratch (account_id TEXT REFERENCES accounts(id) DEFERRABLE INITIALLY DEFERRED)")
        )
    innocent = _account("innocent")

    def write_innocent() -> None:
        with db.write() as uow:
            uow.accounts.add(innocent)
            uow.commit()

    with ThreadPoolExecutor(1) as pool:
        tx = db.begin(write=True)
        try:
            tx.connection.execute(text("INSERT INTO scratch VALUES ('no such account')"))
            queued = _queue_behind(db, pool, write_innocent)
            with pytest.raises(DatabaseUnavailable, match="commit failed"):
                tx.commit()
        finally:
            tx.close()
        with pytest.raises(DatabaseUnavailable, match="commit failed"):
            queued.result(timeout=10)
    assert not _stored(db, innocent.id)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scratch")).scalar() == 0
    # The writer carries on with a fresh transaction.
    after = _account("after")
    with db.write() as uow:
        uow.accounts.add(after)
        uow.commit()
    assert _stored(db, after.id)


def test_many_concurrent_writers_all_land(db: SqlDatabase) -> None:
    made = [_account(f"n{i}") for i in range(60)]
    barrier = threading.Barrier(12)

    def write(chunk: list[Account]) -> None:
        barrier.wait()
        for a in chunk:
            with db.write() as uow:
                uow.accounts.add(a)
                uow.commit()
            assert _stored(db, a.id)

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(write, [made[i::12] for i in range(12)]))
    assert all(_stored(db, a.id) for a in made)
    assert db.sqlite_writer is not None and db.sqlite_writer.queue.waiting == 0


@pytest.fixture
def statements(db: SqlDatabase) -> list[str]:
    """Every statement SQLite runs on connections opened from here on, in order."""
    seen: list[str] = []

    def trace(dbapi_conn: Any, _record: object, _proxy: object) -> None:
        dbapi_conn.set_trace_callback(seen.append)

    event.listen(db.engine, "checkout", trace)
    return seen


def _commits(statements: list[str]) -> list[str]:
    """The synchronous setting each COMMIT ran under: "FULL" unless a NORMAL pragma came just before it."""
    out, mode = [], "FULL"
    for s in statements:
        if s.startswith("PRAGMA synchronous="):
            mode = s.removeprefix("PRAGMA synchronous=")
        elif s == "COMMIT":
            out.append(mode)
    return out


def _touch(db: SqlDatabase, account: Account) -> bool:
    with db.write_if_free() as w:
        if w is None:
            return False
        w.accounts.add(account)
        w.commit()
    return True


def test_bookkeeping_alone_commits_without_waiting_for_the_disk(db: SqlDatabase, statements: list[str]) -> None:
    book = _account("bookkeeping")
    assert _touch(db, book)
    assert _stored(db, book.id)  # committed and visible, only not fsynced
    assert _commits(statements) == ["NORMAL"]
    durable = _account("durable")
    with db.write() as uow:
        uow.accounts.add(durable)
        uow.commit()
    assert _commits(statements) == ["NORMAL", "FULL"]


def test_a_durable_writer_queued_behind_bookkeeping_gets_a_durable_commit_of_its_own(
    db: SqlDatabase, statements: list[str]
) -> None:
    book, durable = _account("bookkeeping"), _account("durable")

    def write_durable() -> bool:
        with db.write() as uow:
            uow.accounts.add(durable)
            uow.commit()
        return _stored(db, durable.id)

    with ThreadPoolExecutor(1) as pool, db.write_if_free() as w:
        assert w is not None
        w.accounts.add(book)
        queued = _queue_behind(db, pool, write_durable)
        w.commit()  # not kept open for the durable writer: it could not make this COMMIT durable
        assert queued.result(timeout=10) is True
    assert _stored(db, book.id)
    assert _commits(statements) == ["NORMAL", "FULL"]


def test_after_a_slow_commit_the_writers_queued_meanwhile_share_one(
    db: SqlDatabase, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow disk, simulated (it cannot be arranged here): each COMMIT sleeps 0.2 s first. With no time
    window of its own, the shared transaction is kept open for as long as the last COMMIT took."""
    monkeypatch.setattr(db, "sqlite_writer", SqliteWriter(db.engine, wait_s=10, batch_window_s=0))
    event.listen(db.engine, "commit", lambda _conn: time.sleep(0.2))
    first, queued = _account("first"), [_account(f"q{i}") for i in range(3)]

    def write(account: Account) -> None:
        with db.write() as uow:
            uow.accounts.add(account)
            uow.commit()

    write(_account("warm-up"))  # a COMMIT on its own, which shows how long one takes
    assert statements.count("COMMIT") == 1
    with ThreadPoolExecutor(3) as pool, db.write() as uow:
        uow.accounts.add(first)
        futures = [_queue_behind(db, pool, lambda a=a: write(a)) for a in queued]
        uow.commit()
        for f in futures:
            f.result(timeout=10)
    assert all(_stored(db, a.id) for a in [first, *queued])
    assert statements.count("COMMIT") == 2

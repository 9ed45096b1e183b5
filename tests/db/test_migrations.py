"""Alembic migrations on both engines, and the SQLite engine's pragmas and transaction behaviour."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from prefixgate.adapters.db.engine import SQLITE_BUSY_TIMEOUT_MS, make_engine
from prefixgate.adapters.db.migrate import alembic_config, downgrade, upgrade
from prefixgate.adapters.db.tables import POSTGRES_ONLY, metadata
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.model import Account
from tests.support import fresh_database_url, migrated_database

EXPECTED_TABLES = set(metadata.tables)


@pytest.fixture
def empty_engine(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine on a brand-new database with no schema at all."""
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("mig"))) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlDatabase]:
    with fresh_database_url("sqlite", str(tmp_path_factory.mktemp("lite"))) as url:
        db = migrated_database(url)
        yield db
        db.dispose()


def tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def versions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]


def head() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    current = script.get_current_head()
    assert current is not None
    return current


def schema_differences(conn: Connection) -> list[Any]:
    def include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return not (reflected and name in POSTGRES_ONLY)  # the same filter migrations/env.py uses

    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "compare_server_default": True, "include_object": include}
    )
    return list(compare_metadata(context, metadata))


# --- migrations, both engines --------------------------------------------------------------------------------------


def test_migration_history_is_linear() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
    assert next(r.revision for r in script.walk_revisions()) == head()


def test_upgrade_head_creates_every_table(empty_engine: Engine) -> None:
    assert tables(empty_engine) == set()
    upgrade(empty_engine)
    assert tables(empty_engine) == EXPECTED_TABLES | {"alembic_version"}
    assert versions(empty_engine) == [head()]


def test_upgrade_twice_is_a_no_op(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    upgrade(empty_engine)
    assert versions(empty_engine) == [head()]
    assert tables(empty_engine) == EXPECTED_TABLES | {"alembic_version"}


def test_downgrade_to_base_and_back(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert tables(empty_engine) == {"alembic_version"}
    assert versions(empty_engine) == []
    upgrade(empty_engine)
    assert tables(empty_engine) == EXPECTED_TABLES | {"alembic_version"}
    assert versions(empty_engine) == [head()]
    with empty_engine.connect() as conn:
        assert schema_differences(conn) == []


def test_every_revision_downgrades_one_step(empty_engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    chain = [r.revision for r in script.walk_revisions()]  # newest first
    upgrade(empty_engine)
    for revision, previous in zip(chain, [*chain[1:], None], strict=True):
        assert versions(empty_engine) == [revision]
        downgrade(empty_engine, "-1")
        assert versions(empty_engine) == ([previous] if previous else [])
    assert tables(empty_engine) == {"alembic_version"}


def test_migrated_schema_matches_the_table_description(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert schema_differences(conn) == []


def test_postgres_only_objects_exist_only_on_postgres(empty_engine: Engine) -> None:
    # The comparison above skips these names; make sure that skips exactly what migration 0002 adds.
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        insp = inspect(conn)
        prefix_columns = {c["name"] for c in insp.get_columns("prefixes")}
        delegation_columns = {c["name"] for c in insp.get_columns("delegations")}
        delegation_indexes = {i["name"] for i in insp.get_indexes("delegations")}
        on_postgres = conn.dialect.name == "postgresql"
        assert ("net" in prefix_columns) is on_postgres
        assert ("net" in delegation_columns) is on_postgres
        assert ("ix_delegations_net_gist" in delegation_indexes) is on_postgres
        if on_postgres:
            found = conn.execute(
                text("SELECT contype FROM pg_constraint WHERE conname = 'ex_prefixes_no_overlap'")
            ).scalar_one()
            assert found == "x"  # an exclusion constraint


def test_foreign_keys_are_enforced(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    insert = text(
        "INSERT INTO memberships (id, account_id, user_id, role_ids, status, created_at) "
        "VALUES (:id, :a, :u, 'x', 'accepted', :t)"
    )
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"), empty_engine.begin() as conn:
        conn.execute(insert, {"id": "1" * 32, "a": "2" * 32, "u": "3" * 32, "t": datetime.now(UTC)})
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM memberships")).scalar_one() == 0


def test_an_uncommitted_unit_of_work_leaves_nothing(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    db = SqlDatabase(empty_engine)
    account = Account(id="a" * 32, name="ghost", created_at=datetime.now(UTC))
    with db.write() as uow:
        uow.accounts.add(account)
        assert uow.accounts.get(account.id) == account  # visible inside its own transaction
    with db.read() as uow:
        assert uow.accounts.get(account.id) is None

    class Boom(Exception):
        pass

    def fail_midway() -> None:
        with db.write() as uow:
            uow.accounts.add(account)
            raise Boom

    with pytest.raises(Boom):
        fail_midway()
    with db.read() as uow:
        assert uow.accounts.get(account.id) is None

    with db.write() as uow:
        uow.accounts.add(account)
        uow.commit()
    with db.read() as uow:
        assert uow.accounts.get(account.id) == account


# --- SQLite specifics -----------------------------------------------------------------------------------------------


def test_sqlite_pragmas(sqlite_db: SqlDatabase) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def raw_sqlite(db: SqlDatabase, *, timeout_s: float) -> sqlite3.Connection:
    """A second, independent connection to the same file, in autocommit mode (we issue BEGIN ourselves)."""
    path = make_url(str(db.engine.url)).database
    assert path
    conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
    return conn


def test_a_write_unit_holds_the_write_lock_up_front(sqlite_db: SqlDatabase) -> None:
    other = raw_sqlite(sqlite_db, timeout_s=0.05)
    try:
        with sqlite_db.write():  # no statement issued yet: BEGIN IMMEDIATE alone must take the lock
            started = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            assert time.monotonic() - started >= 0.04  # it waited out its busy timeout first
            # WAL: readers are never blocked by the writer.
            other.execute("BEGIN DEFERRED")
            assert other.execute("SELECT count(*) FROM accounts").fetchone() == (0,)
            other.execute("COMMIT")
        other.execute("BEGIN IMMEDIATE")  # released when the unit ended
        other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_read_unit_takes_no_write_lock(sqlite_db: SqlDatabase) -> None:
    other = raw_sqlite(sqlite_db, timeout_s=0.05)
    try:
        with sqlite_db.read() as uow:
            assert uow.accounts.get("a" * 32) is None
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()


def test_a_second_write_unit_waits_for_the_first(sqlite_db: SqlDatabase) -> None:
    events: list[str] = []
    holding = threading.Event()

    def second() -> None:
        holding.wait(5)
        with sqlite_db.write() as uow:  # blocks in BEGIN IMMEDIATE until the first unit ends
            events.append("second acquired")
            uow.accounts.add(Account(id="b" * 32, name="second", created_at=datetime.now(UTC)))
            uow.commit()

    worker = threading.Thread(target=second)
    worker.start()
    with sqlite_db.write() as uow:
        holding.set()
        time.sleep(0.3)
        events.append("first releasing")
        uow.accounts.add(Account(id="a" * 32, name="first", created_at=datetime.now(UTC)))
        uow.commit()
    worker.join(10)
    assert not worker.is_alive()
    assert events == ["first releasing", "second acquired"]
    with sqlite_db.read() as uow:
        assert uow.accounts.get("a" * 32) is not None and uow.accounts.get("b" * 32) is not None

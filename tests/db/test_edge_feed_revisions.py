"""Feed revisions on SQLite and PostgreSQL: dense and in commit order under concurrent writers (SQLite's
shared commits included), gone with a rolled-back unit, pruned past the keep window; reads that see one
snapshot.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.errors import FeedGone
from prefixgate.service import edge_feed, identity, zones
from prefixgate.service.context import Actor, record, utcnow
from tests.support import fresh_database_url, migrated_database

CLI = Actor.cli()
WRITERS = 12
WRITES = 15


@pytest.fixture
def db(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlDatabase]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("revs"))) as url:
        database = migrated_database(url)
        yield database
        database.dispose()


def head(db: SqlDatabase) -> int:
    with db.read() as uow:
        return uow.edge_feed.head().revision


class Boom(Exception):
    pass


def failed_serving_write(db: SqlDatabase, zone_id: str, account_id: str) -> None:
    """A unit that changes a zone, notes it for the feed, then fails before its commit: nothing may stay."""
    try:
        with db.write() as uow:
            zone = uow.zones.get(zone_id)
            assert zone is not None
            uow.zones.update(dataclasses.replace(zone, paused=not zone.paused, modified_on=utcnow()))
            record(uow, CLI, "zone.updated", zone_id, owners=[("account", account_id)])
            raise Boom
    except Boom:
        return
    raise AssertionError("the unit did not fail")


def test_a_rolled_back_unit_leaves_no_revision_and_the_next_takes_the_following_one(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Rollback").id
    zone = zones.create_zone(db, CLI, a, f"r{secrets.token_hex(4)}.example.com")
    before = head(db)
    failed_serving_write(db, zone.id, a)
    assert head(db) == before
    assert edge_feed.changes_since(db, CLI, before).changes == ()
    zones.edit_zone(db, CLI, zone.id, paused=True)
    found = edge_feed.changes_since(db, CLI, before)
    assert found.revision == before + 1
    assert [(c.revision, c.kind, c.id) for c in found.changes] == [(before + 1, "zone", zone.id)]


def test_a_unit_committed_reports_its_revision(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Committed").id
    with db.write() as uow:
        record(uow, CLI, "zone.updated", "0" * 32, owners=[("account", a)])
        uow.commit()
        assert uow.committed_revision == head(db)
    with db.write() as uow:  # nothing serving: no revision
        record(uow, CLI, "account.updated", a, owners=[("account", a)])
        uow.commit()
        assert uow.committed_revision is None


def test_a_lent_unit_notes_into_its_lender(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Lender").id
    before = head(db)
    tx = db.begin(write=True)
    try:
        lent = tx.lent_unit()
        record(lent, CLI, "zone.updated", "1" * 32, owners=[("account", a)])
        lent.commit()  # does nothing: the lender commits
        assert head(db) == before
        tx.commit()
    finally:
        tx.close()
    assert tx.uow.committed_revision == before + 1
    found = edge_feed.changes_since(db, CLI, before)
    assert [(c.kind, c.id) for c in found.changes] == [("zone", "1" * 32)]


def test_revisions_are_dense_and_in_commit_order_under_concurrent_writers(db: SqlDatabase) -> None:
    """Writers on many threads (SQLite: turns and shared commits on one connection; PostgreSQL: a
    connection each), one in five failing after it noted its change, and a follower reading the outbox
    in consistent reads the whole time: every read sees exactly the revisions since the last one."""
    a = identity.create_account(db, CLI, "Racers").id
    victim = zones.create_zone(db, CLI, a, f"v{secrets.token_hex(4)}.example.com")
    start = head(db)
    done = threading.Event()
    seen: list[tuple[int, str, str]] = []
    problems: list[str] = []

    def follow() -> None:
        since = start
        while True:
            finished = done.is_set()
            with db.consistent_read() as uow:
                h = uow.edge_feed.head().revision
                entries = uow.edge_feed.changes_after(since, h)
            revisions = sorted({r for r, _, _ in entries})
            if revisions != list(range(since + 1, h + 1)):
                problems.append(f"after {since} up to {h}: saw {revisions}")
            if [r for r, _, _ in entries] != sorted(r for r, _, _ in entries):
                problems.append(f"out of order after {since}")
            seen.extend(entries)
            since = h
            if finished:
                return

    def write(worker: int) -> int:
        made = 0
        for i in range(WRITES):
            if (worker + i) % 5 == 0:
                failed_serving_write(db, victim.id, a)
            else:
                zones.create_zone(db, CLI, a, f"w{worker}-{i}-{secrets.token_hex(3)}.example.com")
                made += 1
        return made

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            made = sum(pool.map(write, range(WRITERS)))
    finally:
        done.set()
        follower.join(timeout=60)
    assert problems == []
    assert head(db) == start + made
    assert [r for r, _, _ in seen] == list(range(start + 1, start + made + 1))  # one change per revision
    state = edge_feed.snapshot(db, CLI)
    assert {key for _, _, key in seen} <= set(state.zones)  # no change of a rolled-back unit survived
    assert victim.id not in {key for _, _, key in seen}


def test_a_consistent_read_sees_one_snapshot_while_others_commit(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Snapshot").id
    zones.create_zone(db, CLI, a, f"s{secrets.token_hex(4)}.example.com")
    with db.consistent_read() as uow:
        first = uow.edge_feed.head().revision
        before = len(uow.edge_state.read_state(first).zones)
        # Another connection commits meanwhile (a thread: SQLite's writer is this process's).
        writer = threading.Thread(target=zones.create_zone, args=(db, CLI, a, f"t{secrets.token_hex(4)}.example.com"))
        writer.start()
        writer.join()
        assert head(db) == first + 1  # committed, and visible outside
        assert uow.edge_feed.head().revision == first  # not in here
        assert len(uow.edge_state.read_state(first).zones) == before


def test_snapshots_taken_while_writers_run_are_each_the_state_at_their_revision(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Counted").id
    base_revision = head(db)
    base_zones = len(edge_feed.snapshot(db, CLI).zones)
    stop = threading.Event()

    def write(worker: int) -> None:
        for i in range(WRITES):
            zones.create_zone(db, CLI, a, f"c{worker}-{i}-{secrets.token_hex(3)}.example.com")

    mismatches: list[tuple[int, int]] = []

    def read() -> int:
        taken = 0
        while not stop.is_set() or taken == 0:
            state = edge_feed.snapshot(db, CLI)
            # Every revision since the base created exactly one zone, so the count must match it.
            if len(state.zones) - base_zones != state.revision - base_revision:
                mismatches.append((state.revision, len(state.zones)))
            taken += 1
        return taken

    with ThreadPoolExecutor(max_workers=6) as pool:
        readers = [pool.submit(read) for _ in range(2)]
        list(ThreadPoolExecutor(max_workers=4).map(write, range(4)))
        stop.set()
        assert all(r.result() > 0 for r in readers)
    assert mismatches == []


def test_changes_older_than_the_keep_window_are_pruned(
    engine_name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("keep"))) as url:
        db = migrated_database(url)
        db.edge_feed_keep = 4
        try:
            a = identity.create_account(db, CLI, "Pruned").id
            for i in range(20):
                zones.create_zone(db, CLI, a, f"p{i}-{secrets.token_hex(3)}.example.com")
            with db.read() as uow:
                h = uow.edge_feed.head()
                kept = uow.edge_feed.changes_after(0, h.revision)
            assert h.revision == 20
            assert 1 < h.oldest <= h.revision - 4 + 1  # at least the newest 4 revisions are kept
            assert [r for r, _, _ in kept] == list(range(h.oldest, h.revision + 1))
            assert len(edge_feed.changes_since(db, CLI, h.oldest - 1).changes) == h.revision - h.oldest + 1
            with pytest.raises(FeedGone, match="no longer kept"):
                edge_feed.changes_since(db, CLI, h.oldest - 2)
            with pytest.raises(FeedGone, match="ahead"):
                edge_feed.changes_since(db, CLI, h.revision + 1)
        finally:
            db.dispose()

"""The edge feed's outbox: a unit of work that changed serving state takes the next revision as it commits.

`publish` runs as the last statements of the unit's transaction, right before COMMIT. Its UPDATE of the
one `edge_head` row holds that row's lock until the transaction ends (PostgreSQL), or runs under SQLite's
one write lock, so transactions commit in the order of their revisions: a reader that sees revision N+1
has seen N. Taken last, the lock is never held while this transaction waits for another. A unit rolled
back (on SQLite: to its savepoint) takes its revision and its change rows with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import Connection, delete, insert, select, text, update

from .tables import edge_changes, edge_head, service_bindings

__all__ = ["CHANNEL", "DEFAULT_KEEP", "publish", "read_head"]

CHANNEL: Final = "prefixgate_edge"  # the PostgreSQL notification channel; the payload is the revision
DEFAULT_KEEP: Final = 100_000
_HEAD = edge_head.c


def _slack(keep: int) -> int:
    """How far past `keep` the kept changes may grow before they are pruned: pruning runs every so many
    revisions (at most 1000), not on every commit."""
    return max(1, min(1000, keep // 10))


def publish(conn: Connection, notes: Sequence[tuple[str, str]], *, postgres: bool, keep: int) -> int:
    """Take the next revision for `notes` ((kind, entity id) pairs, distinct) and write them to the outbox.

    Bindings created in this unit get the revision stamped on their row (the revision that created
    them, which provisioning waits for). Every so often the changes older than the newest `keep`
    revisions are pruned and `edge_head.oldest` moves up.

    Returns:
        The revision this unit commits as.
    """
    row = conn.execute(
        update(edge_head)
        .where(_HEAD.id == 1)
        .values(revision=_HEAD.revision + 1)
        .returning(_HEAD.revision, _HEAD.oldest)
    ).one()
    revision, oldest = int(row.revision), int(row.oldest)
    conn.execute(insert(edge_changes), [{"revision": revision, "kind": k, "entity_id": i} for k, i in notes])
    created = [i for k, i in notes if k == "binding"]
    if created:
        b = service_bindings.c
        conn.execute(update(service_bindings).where(b.id.in_(created), b.revision.is_(None)).values(revision=revision))
    if revision - oldest + 1 > keep + _slack(keep):
        first_kept = revision - keep + 1
        conn.execute(delete(edge_changes).where(edge_changes.c.revision < first_kept))
        conn.execute(update(edge_head).where(_HEAD.id == 1).values(oldest=first_kept))
    if postgres:
        # Queued now, delivered to every listening process at COMMIT (and never if it rolls back).
        conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": str(revision)})
    return revision


def read_head(conn: Connection) -> tuple[int, int]:
    """(revision, oldest) as this connection's snapshot sees them."""
    row = conn.execute(select(_HEAD.revision, _HEAD.oldest).where(_HEAD.id == 1)).one()
    return int(row.revision), int(row.oldest)

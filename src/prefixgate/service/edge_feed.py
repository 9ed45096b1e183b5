"""The edge change feed (docs/edge.md, section 1): the snapshot, the changes since a revision (waiting
for one when there are none), edge tokens, and the edges' reports of what they serve."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from ..domain.codes import Code
from ..domain.edge_feed import (
    EdgeToken,
    NodeStatus,
    check_not_ahead,
    check_since,
    latest_per_entity,
    node_statuses,
    parse_node_name,
    settle_limit,
)
from ..domain.errors import InvalidInput
from ..edge.state import Change, EdgeState, Row
from .context import Actor, new_id, utcnow
from .credentials import digest, new_token_value
from .ports import Database, HeadWatch, UnitOfWork

__all__ = [
    "MAX_WAIT_S",
    "ChangeSet",
    "changes_since",
    "create_edge_token",
    "follow",
    "list_nodes",
    "report_node",
    "snapshot",
]

MAX_WAIT_S: Final = 60
# Past this many changed entities, reading every row once costs less than looking them up in batches.
_TARGETED_MAX: Final = 2000
_RECHECK_S: Final = 0.025
_MAX_TOKEN_NAME: Final = 120

_log = logging.getLogger("prefixgate.edge_feed")
T = TypeVar("T")
Runner = Callable[..., Awaitable[T]]


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """The changes after a revision, each entity once as it stands at `revision` (the head)."""

    revision: int
    oldest: int
    changes: tuple[Change, ...]


def snapshot(db: Database, actor: Actor) -> EdgeState:
    """The whole serving state at the head, read in one consistent snapshot.

    Raises:
        AccessDenied: neither an edge nor an operator.
    """
    actor.require_feed()
    with db.consistent_read() as uow:
        head = uow.edge_feed.head()
        return uow.edge_state.read_state(head.revision)


def _rows(uow: UnitOfWork, head: int, entries: list[tuple[int, str, str]]) -> dict[str, dict[str, Row]]:
    wanted: dict[str, set[str]] = defaultdict(set)
    for _, kind, key in entries:
        wanted[kind].add(key)
    if len(entries) > _TARGETED_MAX:
        state = uow.edge_state.read_state(head)
        return {
            kind: {k: state.table(kind)[k] for k in keys if k in state.table(kind)} for kind, keys in wanted.items()
        }
    return {kind: uow.edge_state.read_rows(kind, keys) for kind, keys in wanted.items()}


def changes_since(db: Database, actor: Actor, since: int) -> ChangeSet:
    """The changes after `since` up to the head, read in one consistent snapshot: each changed entity
    once, with its row at the head (None when it is gone, or a hostname not active).

    Raises:
        AccessDenied: neither an edge nor an operator.
        FeedGone: `since` is older than the changes kept, or ahead of the head.
    """
    actor.require_feed()
    with db.consistent_read() as uow:
        head = uow.edge_feed.head()
        check_since(since, head)
        if since == head.revision:
            return ChangeSet(head.revision, head.oldest, ())
        entries = latest_per_entity(uow.edge_feed.changes_after(since, head.revision))
        rows = _rows(uow, head.revision, entries)
    changes = tuple(Change(rev, kind, key, rows[kind].get(key)) for rev, kind, key in entries)
    return ChangeSet(head.revision, head.oldest, changes)


async def follow(
    db: Database, actor: Actor, watch: HeadWatch, since: int, timeout_s: float, *, run: Runner[ChangeSet]
) -> ChangeSet:
    """changes_since, waiting up to `timeout_s` seconds for a change when there is none yet. Reads run
    through `run` (in a worker thread); the wait holds no connection and no thread.

    Raises:
        InvalidInput: `timeout_s` is not 0 to MAX_WAIT_S.
        As changes_since.
    """
    if not 0 <= timeout_s <= MAX_WAIT_S:
        raise InvalidInput(f"timeout must be 0 to {MAX_WAIT_S} seconds, not {timeout_s}", code=Code.INVALID_FIELD)
    actor.require_feed()
    deadline = time.monotonic() + timeout_s
    found = await run(changes_since, db, actor, since)
    while not found.changes:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not await watch.wait_beyond(found.revision, remaining):
            return found
        head = found.revision
        found = await run(changes_since, db, actor, since)
        if not found.changes and found.revision == head:
            await asyncio.sleep(_RECHECK_S)  # the watch ran ahead of what a read sees: never spin
    return found


def create_edge_token(db: Database, actor: Actor, name: str) -> tuple[EdgeToken, str]:
    """A credential for an edge: it may read the feed and report, nothing else. Returns the token and its
    value, which is shown only here (only its SHA-256 is stored).

    Raises:
        AccessDenied: not an operator. InvalidInput: a name that is empty or too long.
    """
    actor.require_operator()
    name = name.strip()
    if not name or len(name) > _MAX_TOKEN_NAME:
        raise InvalidInput(f"name must be 1 to {_MAX_TOKEN_NAME} characters", code=Code.INVALID_FIELD)
    value = new_token_value()
    token = EdgeToken(id=new_id(), name=name, created_at=utcnow())
    with db.write() as uow:
        uow.edge_feed.add_token(token, token_hash=digest(value))
        uow.commit()
    _log.info("edge_token.created", extra={"token_id": token.id, "interface": actor.interface})
    return token, value


def report_node(db: Database, actor: Actor, name: str, revision: int, *, stale_s: float) -> NodeStatus:
    """Register or refresh the edge `name`, which serves `revision`; bindings every live edge now serves
    become active.

    Raises:
        AccessDenied: neither an edge nor an operator. InvalidInput: a bad name or revision.
        FeedGone: `revision` is ahead of the head (the edge saw a newer database): it must reload.
    """
    actor.require_feed()
    name = parse_node_name(name)
    if revision < 0:
        raise InvalidInput(f"revision must be 0 or more, not {revision}", code=Code.INVALID_FIELD)
    with db.write() as uow:
        head = uow.edge_feed.head()
        check_not_ahead(revision, head, what="revision")
        now = utcnow()
        node = uow.edge_feed.put_node(name, revision, now)
        uow.bindings.settle(settle_limit(uow.edge_feed.nodes(), now, stale_s))
        uow.commit()
    return NodeStatus(node, head.revision - revision, stale=False)


def list_nodes(db: Database, actor: Actor, *, stale_s: float) -> list[NodeStatus]:
    """Every edge that reported, with how far it is behind the head and whether it is stale (operators)."""
    actor.require_operator()
    with db.read() as uow:
        head = uow.edge_feed.head()
        nodes = uow.edge_feed.nodes()
    return node_statuses(nodes, head.revision, utcnow(), stale_s)

"""The edge change feed's rules: which revisions a follower may ask for, which edges count, and when a
binding is in effect on every edge (docs/edge.md, section 1)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from .codes import Code
from .errors import FeedGone, InvalidInput

__all__ = [
    "DEFAULT_STALE_S",
    "EDGE_KIND_OF",
    "EdgeNode",
    "EdgeToken",
    "FeedHead",
    "NodeStatus",
    "check_not_ahead",
    "check_since",
    "is_settled",
    "latest_per_entity",
    "node_statuses",
    "parse_node_name",
    "settle_limit",
]

# Audit resource types that change serving, and the kind of row (prefixgate.edge.state) each changes.
# A fallback origin's resource id is its zone's id, which is also the key of its row.
EDGE_KIND_OF: Final = {
    "prefix": "prefix",
    "delegation": "delegation",
    "binding": "binding",
    "spectrum_app": "app",
    "custom_hostname": "hostname",
    "fallback_origin": "fallback_origin",
    "zone": "zone",
}

DEFAULT_STALE_S: Final = 30.0  # an edge not heard from for this long is stale (PREFIXGATE_EDGE_STALE_S)

_NODE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?")


@dataclass(frozen=True, slots=True)
class FeedHead:
    """The newest committed revision, and the oldest whose changes are still kept."""

    revision: int
    oldest: int


@dataclass(frozen=True, slots=True)
class EdgeToken:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EdgeNode:
    """An edge as it last reported: the revision it serves."""

    name: str
    revision: int
    registered_on: datetime
    last_seen: datetime

    def is_stale(self, now: datetime, stale_s: float) -> bool:
        return now - self.last_seen > timedelta(seconds=stale_s)


@dataclass(frozen=True, slots=True)
class NodeStatus:
    node: EdgeNode
    lag: int  # revisions behind the head
    stale: bool


def parse_node_name(name: str) -> str:
    """An edge's name: 1 to 64 letters, digits, dots, dashes and underscores, starting and ending with a
    letter or digit (a host name fits).

    Raises:
        InvalidInput: anything else.
    """
    if not _NODE_NAME.fullmatch(name):
        raise InvalidInput(
            f"edge name {name[:80]!r} must be 1 to 64 letters, digits, '.', '-' or '_', starting and ending "
            "with a letter or digit",
            code=Code.INVALID_FIELD,
        )
    return name


def check_not_ahead(revision: int, head: FeedHead, *, what: str) -> None:
    """Raises FeedGone when `revision` is newer than the head: the control plane's database is older than
    what the edge saw (restored from a backup), so the edge must reload the snapshot."""
    if revision > head.revision:
        raise FeedGone(
            f"{what} {revision} is ahead of the control plane's revision {head.revision}; reload the snapshot",
            code=Code.FEED_GONE,
        )


def check_since(since: int, head: FeedHead) -> None:
    """A follower at `since` can be brought to the head with the changes kept.

    Raises:
        FeedGone: `since` is older than the changes kept, or ahead of the head; reload the snapshot.
    """
    check_not_ahead(since, head, what="since")
    if since < head.oldest - 1:
        raise FeedGone(
            f"the changes after revision {since} are no longer kept (the oldest kept is {head.oldest}); "
            "reload the snapshot",
            code=Code.FEED_GONE,
        )


def latest_per_entity(entries: Iterable[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """(revision, kind, id) entries, one per (kind, id): its last revision, in revision order."""
    last: dict[tuple[str, str], int] = {}
    for revision, kind, key in entries:
        if revision >= last.get((kind, key), -1):
            last[(kind, key)] = revision
    return sorted(((rev, kind, key) for (kind, key), rev in last.items()), key=lambda e: (e[0], e[1], e[2]))


def settle_limit(nodes: Iterable[EdgeNode], now: datetime, stale_s: float) -> int | None:
    """The newest revision every live edge serves; None when no edge is live (nothing to wait for)."""
    live = [n.revision for n in nodes if not n.is_stale(now, stale_s)]
    return min(live) if live else None


def is_settled(binding_revision: int | None, limit: int | None) -> bool:
    """Whether a binding created at `binding_revision` is served by every live edge (None: a binding
    older than the feed, in effect already)."""
    return limit is None or binding_revision is None or binding_revision <= limit


def node_statuses(nodes: Sequence[EdgeNode], head: int, now: datetime, stale_s: float) -> list[NodeStatus]:
    return [NodeStatus(n, max(0, head - n.revision), n.is_stale(now, stale_s)) for n in nodes]

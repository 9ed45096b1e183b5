"""The edge feed's bookkeeping: its head, the outbox read back, edge tokens and the edges' reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ....domain.edge_feed import EdgeNode, EdgeToken, FeedHead
from ..outbox import read_head
from ..tables import edge_changes, edge_nodes, edge_tokens

__all__ = ["SqlEdgeFeedRepo"]

_C, _N, _T = edge_changes.c, edge_nodes.c, edge_tokens.c
_CHANGES = (
    select(_C.revision, _C.kind, _C.entity_id)
    .where(_C.revision > bindparam("since"), _C.revision <= bindparam("head"))
    .order_by(_C.revision, _C.kind, _C.entity_id)
)
_TOKEN_BY_HASH = select(_T.id, _T.name, _T.created_at).where(_T.token_hash == bindparam("token_hash"))


def _node(r: Any) -> EdgeNode:
    return EdgeNode(name=r.name, revision=int(r.revision), registered_on=r.registered_on, last_seen=r.last_seen)


class SqlEdgeFeedRepo:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self._c = conn
        self._postgres = postgres

    def head(self) -> FeedHead:
        revision, oldest = read_head(self._c)
        return FeedHead(revision, oldest)

    def changes_after(self, since: int, head: int) -> list[tuple[int, str, str]]:
        """(revision, kind, entity id) of the changes after `since` up to `head`, in revision order."""
        rows = self._c.execute(_CHANGES, {"since": since, "head": head})
        return [(int(r.revision), r.kind, r.entity_id) for r in rows]

    def add_token(self, token: EdgeToken, *, token_hash: str) -> None:
        self._c.execute(
            insert(edge_tokens).values(id=token.id, name=token.name, token_hash=token_hash, created_at=token.created_at)
        )

    def token_by_hash(self, token_hash: str) -> EdgeToken | None:
        r = self._c.execute(_TOKEN_BY_HASH, {"token_hash": token_hash}).first()
        return EdgeToken(r.id, r.name, r.created_at) if r else None

    def put_node(self, name: str, revision: int, now: datetime) -> EdgeNode:
        """Register the edge `name` or refresh it: it serves `revision`, seen `now`."""
        stmt = (postgresql.insert if self._postgres else sqlite.insert)(edge_nodes).values(
            name=name, revision=revision, registered_on=now, last_seen=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[_N.name], set_={"revision": stmt.excluded.revision, "last_seen": stmt.excluded.last_seen}
        )
        self._c.execute(stmt)
        r = self._c.execute(select(edge_nodes).where(_N.name == name)).one()
        return _node(r)

    def nodes(self) -> list[EdgeNode]:
        return [_node(r) for r in self._c.execute(select(edge_nodes).order_by(_N.name))]

"""The edge feed's objects as the API and the CLI show them."""

from __future__ import annotations

from ..domain.edge_feed import EdgeToken, NodeStatus
from ..edge.state import encode_change
from .context import rfc3339
from .edge_feed import ChangeSet

__all__ = ["change_set_record", "edge_token_record", "node_record"]


def change_set_record(found: ChangeSet) -> dict[str, object]:
    return {
        "revision": found.revision,
        "oldest": found.oldest,
        "changes": [encode_change(c) for c in found.changes],
    }


def node_record(status: NodeStatus) -> dict[str, object]:
    node = status.node
    return {
        "name": node.name,
        "revision": node.revision,
        "lag": status.lag,
        "last_seen": rfc3339(node.last_seen),
        "stale": status.stale,
        "registered_on": rfc3339(node.registered_on),
    }


def edge_token_record(token: EdgeToken) -> dict[str, object]:
    return {"id": token.id, "name": token.name, "created_on": rfc3339(token.created_at)}

"""The audit log: append and page."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from ....domain.model import AuditEvent, Page, PageRequest
from ..tables import audit_log
from ._paging import paged


def _dump(value: dict[str, object] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _event(r: Any) -> AuditEvent:
    return AuditEvent(
        id=r.id,
        owner_id=r.owner_id,
        owner_kind=r.owner_kind,
        when=r.when,
        actor_id=r.actor_id,
        actor_email=r.actor_email,
        actor_type=r.actor_type,
        actor_ip=r.actor_ip,
        interface=r.interface,
        action=r.action,
        resource_type=r.resource_type,
        resource_id=r.resource_id,
        old_value=json.loads(r.old_value) if r.old_value else None,
        new_value=json.loads(r.new_value) if r.new_value else None,
        metadata=json.loads(r.metadata),
    )


class SqlAuditRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_many(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        self._c.execute(
            insert(audit_log),
            [
                {
                    "id": e.id,
                    "owner_kind": e.owner_kind,
                    "owner_id": e.owner_id,
                    "when": e.when,
                    "actor_id": e.actor_id,
                    "actor_email": e.actor_email,
                    "actor_type": e.actor_type,
                    "actor_ip": e.actor_ip,
                    "interface": e.interface,
                    "action": e.action,
                    "resource_type": e.resource_type,
                    "resource_id": e.resource_id,
                    "old_value": _dump(e.old_value),
                    "new_value": _dump(e.new_value),
                    "metadata": json.dumps(e.metadata, sort_keys=True),
                }
                for e in events
            ],
        )

    def page(self, owner_kind: str, owner_id: str, page: PageRequest, *, newest_first: bool) -> Page[AuditEvent]:
        order = audit_log.c.seq.desc() if newest_first else audit_log.c.seq
        q = select(audit_log).where(audit_log.c.owner_kind == owner_kind, audit_log.c.owner_id == owner_id)
        return paged(self._c, q.order_by(order), page, _event)

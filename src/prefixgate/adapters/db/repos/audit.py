"""The audit log: append and page."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from ....domain.model import AuditEvent, AuditQuery, Page, PageRequest
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


_ADD_EVENT = insert(audit_log)


class SqlAuditRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_many(self, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        self._c.execute(
            _ADD_EVENT,
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

    def page(self, owner_kind: str, owner_id: str, page: PageRequest, query: AuditQuery) -> Page[AuditEvent]:
        c = audit_log.c
        q = select(audit_log).where(c.owner_kind == owner_kind, c.owner_id == owner_id)
        for column, value in (
            (c.id, query.id),
            (c.action, query.action),
            (c.actor_email, query.actor_email),
            (c.actor_ip, query.actor_ip),
        ):
            if value is not None:
                q = q.where(column == value)
        if query.since is not None:
            q = q.where(c.when >= query.since)
        if query.before is not None:
            q = q.where(c.when < query.before)
        return paged(self._c, q.order_by(c.seq.desc() if query.newest_first else c.seq), page, _event)

"""Dashboard sessions and failed-login counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ....domain.sessions import LoginFailures, WebSession
from ..tables import login_failures, web_sessions

__all__ = ["SqlLoginFailureRepo", "SqlSessionRepo"]


def _session(r: Any) -> WebSession:
    return WebSession(
        id=r.id,
        user_id=r.user_id,
        csrf_token=r.csrf_token,
        created_at=r.created_at,
        expires_at=r.expires_at,
        last_seen_at=r.last_seen_at,
    )


class SqlSessionRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, s: WebSession) -> None:
        self._c.execute(
            insert(web_sessions).values(
                id=s.id,
                user_id=s.user_id,
                csrf_token=s.csrf_token,
                created_at=s.created_at,
                expires_at=s.expires_at,
                last_seen_at=s.last_seen_at,
            )
        )

    def get(self, session_id: str) -> WebSession | None:
        r = self._c.execute(select(web_sessions).where(web_sessions.c.id == session_id)).first()
        return _session(r) if r else None

    def touch(self, session_id: str, seen: datetime, expires_at: datetime) -> None:
        self._c.execute(
            update(web_sessions).where(web_sessions.c.id == session_id).values(last_seen_at=seen, expires_at=expires_at)
        )

    def delete(self, session_id: str) -> None:
        self._c.execute(delete(web_sessions).where(web_sessions.c.id == session_id))

    def delete_expired(self, now: datetime) -> int:
        return self._c.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now)).rowcount

    def delete_for_user(self, user_id: str) -> None:
        self._c.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))


class SqlLoginFailureRepo:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self._c = conn
        self._postgres = postgres

    def lock(self, key: str, now: datetime) -> LoginFailures:
        """The count under `key` (zero if there was none), locked until the transaction ends, so
        workers counting failures at the same moment queue instead of losing one."""
        insert_ = (postgresql.insert if self._postgres else sqlite.insert)(login_failures)
        self._c.execute(insert_.values(key=key, failures=0, first_at=now).on_conflict_do_nothing())
        found = self.get(key, for_update=True)
        assert found is not None
        return found

    def get(self, key: str, *, for_update: bool = False) -> LoginFailures | None:
        q = select(login_failures).where(login_failures.c.key == key)
        r = self._c.execute(q.with_for_update() if for_update and self._postgres else q).first()
        if r is None:
            return None
        return LoginFailures(key=r.key, failures=r.failures, first_at=r.first_at, locked_until=r.locked_until)

    def put(self, entry: LoginFailures) -> None:
        """Insert or replace the count."""
        values = {
            "key": entry.key,
            "failures": entry.failures,
            "first_at": entry.first_at,
            "locked_until": entry.locked_until,
        }
        stmt = (postgresql.insert if self._postgres else sqlite.insert)(login_failures).values(**values)
        self._c.execute(
            stmt.on_conflict_do_update(
                index_elements=[login_failures.c.key],
                set_={k: v for k, v in values.items() if k != "key"},
            )
        )

    def clear(self, key: str) -> None:
        self._c.execute(delete(login_failures).where(login_failures.c.key == key))

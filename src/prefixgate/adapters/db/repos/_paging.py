"""Shared paging for list queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, bindparam, func, select

from ....domain.model import Page, PageRequest

__all__ = ["PagedQuery", "paged"]

T = TypeVar("T")


class PagedQuery:
    """A list query built once (with bind parameters for its filters), with its page and count statements.

    Building a statement costs more than running a simple one; statements built at import time are also
    looked up in SQLAlchemy's compiled cache without recomputing their cache keys.
    """

    def __init__(self, query: Select[Any]) -> None:
        self.rows = query.limit(bindparam("_limit")).offset(bindparam("_offset"))
        self.count = select(func.count()).select_from(query.order_by(None).subquery())

    def run(
        self, conn: Connection, params: dict[str, Any], page: PageRequest, to_domain: Callable[[Any], T]
    ) -> Page[T]:
        rows = conn.execute(self.rows, {**params, "_limit": page.per_page, "_offset": page.offset}).all()
        if page.page == 1 and len(rows) < page.per_page:
            total = len(rows)  # the whole result fits on this page: no need to count
        else:
            total = conn.execute(self.count, params).scalar_one()
        return Page([to_domain(r) for r in rows], total, page)


def paged(conn: Connection, query: Select[Any], page: PageRequest, to_domain: Callable[[Any], T]) -> Page[T]:
    """Run `query` (already ordered) for one page, and count all its rows."""
    rows = conn.execute(query.limit(page.per_page).offset(page.offset)).all()
    if page.page == 1 and len(rows) < page.per_page:
        total = len(rows)  # the whole result fits on this page: no need to count
    else:
        total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    return Page([to_domain(r) for r in rows], total, page)

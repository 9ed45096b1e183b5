"""Shared paging for list queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, func, select

from ....domain.model import Page, PageRequest

T = TypeVar("T")


def paged(conn: Connection, query: Select[Any], page: PageRequest, to_domain: Callable[[Any], T]) -> Page[T]:
    """Run `query` (already ordered) for one page, and count all its rows."""
    rows = conn.execute(query.limit(page.per_page).offset(page.offset)).all()
    if page.page == 1 and len(rows) < page.per_page:
        total = len(rows)  # the whole result fits on this page: no need to count
    else:
        total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    return Page([to_domain(r) for r in rows], total, page)

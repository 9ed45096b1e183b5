"""Counts across all accounts, for monitoring."""

from __future__ import annotations

from sqlalchemy import Connection, ScalarSelect, Table, func, select

from ....domain.model import ObjectCounts
from ..tables import delegations, prefixes, spectrum_apps

__all__ = ["SqlStatsRepo"]


def _count(table: Table) -> ScalarSelect[int]:
    return select(func.count()).select_from(table).scalar_subquery()


class SqlStatsRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def counts(self) -> ObjectCounts:
        """One round trip: a scalar subquery per table."""
        row = self._c.execute(select(_count(prefixes), _count(delegations), _count(spectrum_apps))).one()
        return ObjectCounts(prefixes=int(row[0]), delegations=int(row[1]), spectrum_apps=int(row[2]))

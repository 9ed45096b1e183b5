"""Numbers about the whole installation, for monitoring."""

from __future__ import annotations

from ..domain.model import ObjectCounts
from .ports import Database

__all__ = ["object_counts"]


def object_counts(db: Database) -> ObjectCounts:
    """How many prefixes, delegations and Spectrum apps exist, in all accounts."""
    with db.read() as uow:
        return uow.stats.counts()

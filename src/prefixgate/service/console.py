"""Read models for the dashboard: what a page shows, gathered in one read, with the rules applied here."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.model import Account, PageRequest, Prefix
from ..domain.roles import Permission
from .context import Actor
from .ports import Database

__all__ = ["PrefixRow", "prefix_rows"]


@dataclass(frozen=True, slots=True)
class PrefixRow:
    """One line of the IP Prefixes list."""

    prefix: Prefix
    delegations: int
    may_edit: bool

    @property
    def approval(self) -> str:
        return "Approved" if self.prefix.is_approved else "Pending approval"

    @property
    def advertisement(self) -> str:
        if self.prefix.advertised is None:
            return "Not set"
        return "Advertised" if self.prefix.advertised else "Withdrawn"


def prefix_rows(db: Database, actor: Actor, account: Account) -> list[PrefixRow]:
    """The account's prefixes, oldest first, with how many delegations each has."""
    actor.require(account.id, Permission.ADDRESSING_READ)
    may_edit = actor.may(account.id, Permission.ADDRESSING_WRITE)
    with db.read() as uow:
        rows: list[PrefixRow] = []
        page_no = 1
        while True:
            page = uow.prefixes.page(account.id, PageRequest(page=page_no, per_page=1000))
            rows += [PrefixRow(p, uow.delegations.count(p.id), may_edit) for p in page.items]
            if page_no * 1000 >= page.total:
                return rows
            page_no += 1

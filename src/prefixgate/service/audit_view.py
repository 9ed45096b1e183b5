"""The dashboard's Audit log page as data: one page of an account's events, the filter and the paging."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..domain.codes import Code
from ..domain.errors import InvalidInput
from ..domain.model import AuditEvent, AuditQuery, PageRequest
from .audit import account_audit_log
from .context import Actor
from .ports import Database

__all__ = ["AUDIT_ACTIONS", "AUDIT_PAGE_SIZE", "AuditRow", "AuditView", "audit_view"]

AUDIT_PAGE_SIZE = 50
_MAX_PAGE = 1_000_000

# Every action an account's log can hold, in the order the filter offers them. (Token and sign-in
# events go to the user's own log.) tests/unit/test_audit_view.py checks this against the services.
AUDIT_ACTIONS = (
    "prefix.created",
    "prefix.updated",
    "prefix.approved",
    "prefix.validation_requested",
    "prefix.deleted",
    "delegation.created",
    "delegation.deleted",
    "binding.created",
    "binding.deleted",
    "address_map.created",
    "address_map.updated",
    "address_map.deleted",
    "address_map.ip_added",
    "address_map.ip_removed",
    "address_map.member_added",
    "address_map.member_removed",
    "zone.created",
    "zone.updated",
    "zone.deleted",
    "spectrum_app.created",
    "spectrum_app.updated",
    "spectrum_app.blocked",
    "spectrum_app.deleted",
    "custom_hostname.created",
    "custom_hostname.updated",
    "custom_hostname.activated",
    "custom_hostname.deactivated",
    "custom_hostname.deleted",
    "fallback_origin.updated",
    "fallback_origin.deleted",
    "member.created",
    "member.updated",
    "member.deleted",
)


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One line of the Audit log table."""

    event: AuditEvent

    @property
    def actor(self) -> str:
        """The actor's email where this log may show it; otherwise their id, or "operator" for the CLI."""
        e = self.event
        return e.actor_email or e.actor_id or ("operator" if e.actor_type == "admin" else "unknown")

    @property
    def resource(self) -> str:
        return f"{self.event.resource_type} {self.event.resource_id}"


@dataclass(frozen=True, slots=True)
class AuditView:
    """One page of the log, newest first; `action` is the filter applied ("" for none)."""

    rows: list[AuditRow]
    total: int
    page: int
    pages: int
    action: str
    actions: tuple[str, ...]

    @property
    def previous_page(self) -> int | None:
        return min(self.page - 1, self.pages) if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def _page_number(text: str) -> int:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 7 or not 1 <= int(value) <= _MAX_PAGE:
        raise InvalidInput(
            f"page must be a whole number from 1 to {_MAX_PAGE}, not {text[:20]!r}", code=Code.INVALID_PAGINATION
        )
    return int(value)


def _action(text: str) -> str:
    value = text.strip()
    kind, dot, verb = value.partition(".")
    if value and not (len(value) <= 64 and dot and _word(kind) and _word(verb)):
        raise InvalidInput(
            f"action must be an action such as delegation.created, not {text[:70]!r}", code=Code.INVALID_FIELD
        )
    return value


def _word(text: str) -> bool:
    return bool(text) and text.isascii() and all(c.islower() or c == "_" for c in text)


def audit_view(db: Database, actor: Actor, account_id: str, *, page: str = "1", action: str = "") -> AuditView:
    """The Audit log page of an account, from the page's query values as typed.

    Raises:
        AccessDenied: the actor may not read this account's log.
        InvalidInput: `page` is not a number from 1 to 1000000, or `action` does not look like one.
    """
    number, wanted = _page_number(page or "1"), _action(action)
    query = AuditQuery(action=wanted or None)
    found = account_audit_log(db, actor, account_id, PageRequest(page=number, per_page=AUDIT_PAGE_SIZE), query)
    actions = AUDIT_ACTIONS if wanted in ("", *AUDIT_ACTIONS) else (*AUDIT_ACTIONS, wanted)
    return AuditView(
        rows=[AuditRow(e) for e in found.items],
        total=found.total,
        page=number,
        pages=max(1, math.ceil(found.total / AUDIT_PAGE_SIZE)),
        action=wanted,
        actions=actions,
    )

"""Removing a delegation or a service binding: a confirmation page that shows the impact first.

GET shows what depends on the delegation or binding, changing nothing. With nothing depending on it,
the page offers a plain Remove; otherwise only an explicit Remove anyway (force=1) goes ahead. When
something came to depend on it between the two (the service answers 409), the page is shown again
with what it found and the service's message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from fastapi import Request, Response

from ...domain.errors import Conflict
from ...service import bindings, delegations, prefix_pages
from ...service.context import Actor
from ...service.ports import Database
from ...service.prefix_pages import Removal
from ..render import page
from ..routing import see_other, web_router
from ..viewer import CheckedForm, Viewer, Visitor, WebDb
from .paths import prefix_path

router = web_router()

_PREFIX = "/accounts/{account_id}/ip-addresses/prefixes/{prefix_id}"


class _Delete(Protocol):
    def __call__(
        self, db: Database, actor: Actor, account_id: str, prefix_id: str, item_id: str, /, *, force: bool
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class _Kind:
    """What can be removed from a prefix: its name, the impact to confirm, the removal, the notice after."""

    name: str
    impact: Callable[[Database, Actor, str, str, str], Removal]
    delete: _Delete
    notice: str


_DELEGATION = _Kind("delegation", prefix_pages.delegation_removal, delegations.delete_delegation, "delegation-removed")
_BINDING = _Kind("binding", prefix_pages.binding_removal, bindings.delete_binding, "binding-removed")


def _confirmation(
    request: Request,
    visitor: Visitor,
    account_id: str,
    prefix_id: str,
    *,
    kind: _Kind,
    removal: Removal,
    error: str = "",
    status: int = 200,
) -> Response:
    context = {
        "kind": kind.name,
        "removal": removal,
        "error": error,
        "action": request.url.path,
        "back": prefix_path(account_id, prefix_id),
    }
    return page(request, "remove_confirm.html", context, visitor=visitor, account_id=account_id, status=status)


def _confirm(
    kind: _Kind, request: Request, db: Database, visitor: Visitor, account_id: str, prefix_id: str, item_id: str
) -> Response:
    removal = kind.impact(db, visitor.actor, account_id, prefix_id, item_id)
    return _confirmation(request, visitor, account_id, prefix_id, kind=kind, removal=removal)


def _remove(
    kind: _Kind, request: Request, db: Database, posted: CheckedForm, account_id: str, prefix_id: str, item_id: str
) -> Response:
    try:
        kind.delete(db, posted.actor, account_id, prefix_id, item_id, force=posted.form.flag("force"))
    except Conflict as exc:
        removal = kind.impact(db, posted.actor, account_id, prefix_id, item_id)
        return _confirmation(
            request, posted.visitor, account_id, prefix_id, kind=kind, removal=removal, error=exc.message, status=409
        )
    return see_other(prefix_path(account_id, prefix_id) + f"?notice={kind.notice}")


@router.get(_PREFIX + "/delegations/{delegation_id}/remove")
def confirm_delegation_removal(
    request: Request, db: WebDb, visitor: Viewer, account_id: str, prefix_id: str, delegation_id: str
) -> Response:
    return _confirm(_DELEGATION, request, db, visitor, account_id, prefix_id, delegation_id)


@router.post(_PREFIX + "/delegations/{delegation_id}/remove")
def remove_delegation(
    request: Request, db: WebDb, posted: CheckedForm, account_id: str, prefix_id: str, delegation_id: str
) -> Response:
    return _remove(_DELEGATION, request, db, posted, account_id, prefix_id, delegation_id)


@router.get(_PREFIX + "/bindings/{binding_id}/remove")
def confirm_binding_removal(
    request: Request, db: WebDb, visitor: Viewer, account_id: str, prefix_id: str, binding_id: str
) -> Response:
    return _confirm(_BINDING, request, db, visitor, account_id, prefix_id, binding_id)


@router.post(_PREFIX + "/bindings/{binding_id}/remove")
def remove_binding(
    request: Request, db: WebDb, posted: CheckedForm, account_id: str, prefix_id: str, binding_id: str
) -> Response:
    return _remove(_BINDING, request, db, posted, account_id, prefix_id, binding_id)

"""Removing a delegation or a service binding: a confirmation page that shows the impact first.

GET shows what depends on the delegation or binding, changing nothing. With nothing depending on it,
the page offers a plain Remove; otherwise only an explicit Remove anyway (force=1) goes ahead. When
something came to depend on it between the two (the service answers 409), the page is shown again
with what it found and the service's message.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response

from ...domain.errors import Conflict
from ...service import bindings, delegations, prefix_pages
from ...service.prefix_pages import Removal
from ..render import page
from ..routing import see_other, web_router
from ..viewer import CheckedForm, Viewer, Visitor, WebDb
from .paths import prefix_path

router = web_router()

_PREFIX = "/accounts/{account_id}/ip-addresses/prefixes/{prefix_id}"


def _confirmation(
    request: Request,
    visitor: Visitor,
    account_id: str,
    prefix_id: str,
    *,
    kind: str,
    removal: Removal,
    error: str = "",
    status: int = 200,
) -> Response:
    context = {
        "kind": kind,
        "removal": removal,
        "error": error,
        "action": request.url.path,
        "back": prefix_path(account_id, prefix_id),
    }
    return page(request, "remove_confirm.html", context, visitor=visitor, account_id=account_id, status=status)


def _remove(
    request: Request,
    posted: CheckedForm,
    account_id: str,
    prefix_id: str,
    *,
    kind: str,
    delete: Callable[[bool], object],
    removal: Callable[[], Removal],
    notice: str,
) -> Response:
    try:
        delete(posted.form.flag("force"))
    except Conflict as exc:
        return _confirmation(
            request,
            posted.visitor,
            account_id,
            prefix_id,
            kind=kind,
            removal=removal(),
            error=exc.message,
            status=409,
        )
    return see_other(prefix_path(account_id, prefix_id) + f"?notice={notice}")


@router.get(_PREFIX + "/delegations/{delegation_id}/remove")
def confirm_delegation_removal(
    request: Request, db: WebDb, visitor: Viewer, account_id: str, prefix_id: str, delegation_id: str
) -> Response:
    removal = prefix_pages.delegation_removal(db, visitor.actor, account_id, prefix_id, delegation_id)
    return _confirmation(request, visitor, account_id, prefix_id, kind="delegation", removal=removal)


@router.post(_PREFIX + "/delegations/{delegation_id}/remove")
def remove_delegation(
    request: Request, db: WebDb, posted: CheckedForm, account_id: str, prefix_id: str, delegation_id: str
) -> Response:
    return _remove(
        request,
        posted,
        account_id,
        prefix_id,
        kind="delegation",
        delete=lambda force: delegations.delete_delegation(
            db, posted.actor, account_id, prefix_id, delegation_id, force=force
        ),
        removal=lambda: prefix_pages.delegation_removal(db, posted.actor, account_id, prefix_id, delegation_id),
        notice="delegation-removed",
    )


@router.get(_PREFIX + "/bindings/{binding_id}/remove")
def confirm_binding_removal(
    request: Request, db: WebDb, visitor: Viewer, account_id: str, prefix_id: str, binding_id: str
) -> Response:
    removal = prefix_pages.binding_removal(db, visitor.actor, account_id, prefix_id, binding_id)
    return _confirmation(request, visitor, account_id, prefix_id, kind="binding", removal=removal)


@router.post(_PREFIX + "/bindings/{binding_id}/remove")
def remove_binding(
    request: Request, db: WebDb, posted: CheckedForm, account_id: str, prefix_id: str, binding_id: str
) -> Response:
    return _remove(
        request,
        posted,
        account_id,
        prefix_id,
        kind="binding",
        delete=lambda force: bindings.delete_binding(db, posted.actor, account_id, prefix_id, binding_id, force=force),
        removal=lambda: prefix_pages.binding_removal(db, posted.actor, account_id, prefix_id, binding_id),
        notice="binding-removed",
    )

"""Rendering pages: one Jinja2 environment, autoescaping everything a tenant typed."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ..service import identity
from ..service.context import rfc3339
from .viewer import Visitor

__all__ = ["NOTICES", "environment", "page"]

# Messages a redirect may ask the next page to show, by key: no text the client chose is ever echoed.
NOTICES = {
    "signed-out": "You have signed out.",
    "description-saved": "The description was saved.",
    "delegation-added": "The delegation was added.",
    "delegation-removed": "The delegation was removed.",
    "binding-removed": "The service binding was removed.",
    "zone-added": "The zone was added.",
    "app-created": "The Spectrum application was created.",
    "app-saved": "The Spectrum application was saved.",
    "app-deleted": "The Spectrum application was deleted.",
    "hostname-created": "The custom hostname was created.",
    "hostname-deleted": "The custom hostname was deleted.",
    "hostname-validated": "The custom hostname was checked again.",
    "fallback-origin-saved": "The fallback origin was saved.",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("prefixgate.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = lambda value: (rfc3339(value) or "")[:19].replace("T", " ") + (" UTC" if value else "")
    return env


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    visitor: Visitor | None = None,
    account_id: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """Render `template` inside the layout. With a visitor, the layout shows the account switcher
    (their accounts, `account_id` selected) and the navigation of that account."""
    accounts: list[Any] = []
    account = None
    if visitor is not None:
        accounts = list(identity.accounts_of(request.app.state.db, visitor.actor))
        account = next((a for a in accounts if a.id == account_id), None)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    html = (
        environment()
        .get_template(template)
        .render(
            {
                "request": request,
                "visitor": visitor,
                "accounts": accounts,
                "account": account,
                "csrf_token": visitor.csrf_token if visitor else "",
                "notice": notice,
                **context,
            }
        )
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

"""The route class every dashboard router uses: refusals become pages, never tracebacks or JSON."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.types import Scope

from ..adapters.db.uow import DatabaseUnavailable
from ..api.errors import status_of
from ..api.routing import API_PREFIX
from ..domain.errors import DomainError
from .render import page
from .viewer import LoginRequired

__all__ = ["WebRoute", "error_page", "refusal_page", "see_other", "web_router"]

log = logging.getLogger("prefixgate.web")


def see_other(url: str) -> RedirectResponse:
    """POST-redirect-GET: a reload of the next page never repeats the write."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", {"status": status, "message": message}, status=status)


def refusal_page(scope: Scope, status: int, message: str) -> Response | None:
    """The error page for a request refused before it reached a route (a body too large), or None
    under the API, which answers in its own envelope."""
    if str(scope.get("path", "")).startswith(API_PREFIX):
        return None
    return error_page(Request(scope), status, message)


def _login_redirect(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else "/"
    return see_other("/login?next=" + quote(target, safe="/"))


class WebRoute(APIRoute):
    """An APIRoute whose refusals are rendered: no session sends the browser to the login page; a domain
    error shows its message with the status the API's one table gives it (403, 404, 409 ...)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except LoginRequired:
                return _login_redirect(request)
            except DomainError as exc:
                return error_page(request, status_of(exc), exc.message)
            except RequestValidationError:
                return error_page(request, 400, "the address of this page has a value that is not valid")
            except IntegrityError as exc:
                log.info("web.conflict", extra={"error": type(exc).__name__})
                return error_page(request, 409, "the change conflicts with a concurrent change; nothing was stored")
            except DataError:
                return error_page(request, 400, "a value in the form cannot be stored (e.g. a NUL character)")
            except (OperationalError, DatabaseUnavailable):
                log.warning("database.unavailable")
                return error_page(request, 503, "the database is unavailable; retry shortly")

        return handler


def web_router() -> APIRouter:
    """A router for dashboard pages: WebRoutes, left out of the API's OpenAPI document."""
    return APIRouter(route_class=WebRoute, include_in_schema=False)

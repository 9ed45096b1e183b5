"""The route class every API router uses, so request handling is decided in one place.

- A sync route body runs in one hop into the thread pool, and the request's unit of work is closed in
  that same hop (FastAPI would otherwise hop once per sync dependency and again to validate the response).
- Each request gets one RequestScope: authentication and the route's queries share its unit of work.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from ..adapters.db.scope import RequestScope
from ..adapters.db.uow import SqlDatabase

__all__ = ["ApiRoute", "api_router", "request_scope"]

_SCOPE_KEY = "prefixgate.db_scope"
_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_scope(request: Request) -> RequestScope:
    """The request's unit-of-work scope, made on first use. Requests that may change state begin as writes."""
    scope: RequestScope | None = request.scope.get(_SCOPE_KEY)
    if scope is None:
        db: SqlDatabase = request.app.state.db
        scope = RequestScope(db, write=request.method not in _READ_ONLY_METHODS)
        request.scope[_SCOPE_KEY] = scope
    return scope


def _call_then_close(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    try:
        return fn(**kwargs)
    finally:
        for value in kwargs.values():
            if isinstance(value, RequestScope):
                value.close()


def _in_one_hop(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)  # FastAPI reads the parameters (and their module's names) through __wrapped__
    async def endpoint(**kwargs: Any) -> Any:
        return await run_in_threadpool(_call_then_close, fn, kwargs)

    return endpoint


class ApiRoute(APIRoute):
    """An APIRoute with prefixgate's request handling."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_one_hop(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Any]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response: Response = await handle(request)
                return response
            finally:
                # Normally closed already in the route's own hop; this catches requests refused before
                # the route body ran (a bad body after authentication, say).
                scope: RequestScope | None = request.scope.get(_SCOPE_KEY)
                if scope is not None and scope.is_open:
                    await run_in_threadpool(scope.close)

        return handler


def api_router(**options: Any) -> APIRouter:
    """An APIRouter whose routes are ApiRoutes."""
    return APIRouter(route_class=ApiRoute, **options)

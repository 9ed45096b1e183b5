"""The route class every API router uses, so request handling is decided in one place.

- A sync route body runs in one hop into the thread pool, and the request's unit of work is closed in
  that same hop (FastAPI would otherwise hop once per sync dependency and again to validate the response).
- Each request gets one RequestScope: authentication and the route's queries share its unit of work.
- Request bodies are strict JSON (I-JSON, see strict_json.py), also on routes that take no body.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import re
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from ..adapters.db.scope import RequestScope
from ..adapters.db.uow import SqlDatabase
from ..domain.codes import Code
from ..domain.errors import NotFound
from . import strict_json

__all__ = [
    "API_PREFIX",
    "ApiRoute",
    "StrictJsonRequest",
    "api_router",
    "clean_path",
    "in_thread",
    "probe_router",
    "request_scope",
    "worker_threads",
]

API_PREFIX = "/client/v4"

T = TypeVar("T")
_SCOPE_KEY = "prefixgate.db_scope"
_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def clean_path(request: Request) -> None:
    """Ids in the path never carry control characters; such an id names nothing (404), on every engine.
    Every API route checks this first (deps.CurrentActor does, before authenticating).

    `account_id` is left to the membership check, which answers 403 for any account you are not in.
    """
    for name, value in request.path_params.items():
        if name != "account_id" and _CONTROL.search(str(value)):
            raise NotFound(f"{name.removesuffix('_id')} not found", code=Code.NOT_FOUND)


def request_scope(request: Request) -> RequestScope:
    """The request's unit-of-work scope, made on first use. Requests that may change state begin as writes."""
    scope: RequestScope | None = request.scope.get(_SCOPE_KEY)
    if scope is None:
        db: SqlDatabase = request.app.state.db
        scope = RequestScope(db, write=request.method not in _READ_ONLY_METHODS)
        request.scope[_SCOPE_KEY] = scope
    return scope


WORKER_THREADS = 40  # as many as anyio's default limit: PostgreSQL waits must not starve each other


def worker_threads() -> ThreadPoolExecutor:
    """The thread pool request bodies run in; create_app installs it as the event loop's default executor."""
    return ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="prefixgate-request")


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` in the event loop's executor (with the caller's context variables). The loop's own
    executor costs half what anyio's worker threads cost per hop (no cancel scope, no capacity limiter)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(contextvars.copy_context().run, fn, *args))


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
        return await in_thread(_call_then_close, fn, kwargs)

    return endpoint


def _is_json(content_type: str | None) -> bool:
    """The rule FastAPI applies before it reads a body as JSON: application/json or application/*+json."""
    if not content_type:
        return False
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class StrictJsonRequest(Request):
    """A Request whose `json()` is strict (see strict_json): FastAPI reads bodies through it."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json.loads(await self.body())
        return self._json

    async def check_unread_body(self) -> None:
        """Refuse a JSON body that is not strict JSON, for a route that takes no body and so never reads it.

        Raises:
            RequestValidationError: as FastAPI raises it for a body it cannot decode.
        """
        content_type = next((v for k, v in self.scope["headers"] if k == b"content-type"), None)
        if content_type is None or not _is_json(content_type.decode("latin-1")) or not await self.body():
            return
        try:
            await self.json()
        except json.JSONDecodeError as exc:
            error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
            raise RequestValidationError([{**error, "ctx": {"error": exc.msg}}]) from None


class ApiRoute(APIRoute):
    """An APIRoute with prefixgate's request handling (see the module's docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_one_hop(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        takes_no_body = self.body_field is None

        async def handler(request: Request) -> Response:
            strict = StrictJsonRequest(request.scope, request.receive)
            try:
                if takes_no_body:
                    await strict.check_unread_body()
                response: Response = await handle(strict)
                return response
            finally:
                # Normally closed already in the route's own hop; this catches requests refused before
                # the route body ran (a bad body after authentication, say).
                scope: RequestScope | None = request.scope.get(_SCOPE_KEY)
                if scope is not None and scope.is_open:
                    await in_thread(scope.close)

        return handler


def api_router(prefix: str = "", **options: Any) -> APIRouter:
    """A router for one URL collection under /client/v4, whose routes are ApiRoutes.

    Routes carry their full path: create_app adds them to the application's own route list rather than
    including the router, so a request is matched against a flat list once (FastAPI matches an included
    router's routes twice, with bookkeeping per route).
    """
    return APIRouter(prefix=API_PREFIX + prefix, route_class=ApiRoute, **options)


def probe_router(**options: Any) -> APIRouter:
    """A router for the operational endpoints at the root (/healthz, /readyz, /metrics): plain FastAPI
    routes, as cheap as FastAPI makes them. They take no body and open no unit of work."""
    return APIRouter(**options)

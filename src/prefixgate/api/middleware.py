"""ASGI middleware: request ids with structured access logs, and a cap on body size."""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..domain.codes import Code
from ..logs import log_request
from ..metrics import count_error, observe_request
from .observe import RouteLabels

__all__ = ["BodyLimit", "RequestLog"]

log = logging.getLogger("prefixgate.http")


class _TooLarge(Exception):
    pass


async def _send_error(send: Send, status: int, code: int, message: str) -> None:
    count_error(code)
    body = json.dumps(
        {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


# The answer to a refusal outside the API (a dashboard page), or None to answer in the API's envelope.
RefusalPage = Callable[[Scope, int, str], ASGIApp | None]


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, before they reach a route: in the API's
    envelope, or as the page `page` gives for the scope (the dashboard's error page)."""

    def __init__(self, app: ASGIApp, limit: int, page: RefusalPage | None = None) -> None:
        self.app = app
        self.limit = limit
        self.page = page

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        refusal = self.page(scope, 413, message) if self.page is not None else None
        if refusal is None:
            await _send_error(send, 413, Code.REQUEST_TOO_LARGE, message)
        else:
            count_error(Code.REQUEST_TOO_LARGE)
            await refusal(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body exceeds {self.limit} bytes"
        has_body = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if value.isdigit() and int(value) > self.limit:
                    await self._refuse(scope, receive, send, message)
                    return
                has_body = has_body or value != b"0"
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:  # nothing to count (HTTP/1.1 sends a body only with one of these headers)
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False
        too_large = False

        async def limited_receive() -> Message:
            nonlocal seen, too_large
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    too_large = True
                    raise _TooLarge
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if too_large:
                # The app caught _TooLarge itself (FastAPI turns any error while reading the body
                # into "400 error parsing the body"): answer 413 in its place, and drop the rest.
                if msg["type"] == "http.response.start" and not started:
                    started = True
                    await self._refuse(scope, receive, send, message)
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send, message)


class RequestLog:
    """One layer for what every request leaves behind: an id (echoed as X-Request-Id), one structured log
    line, and its metrics (by method, route template and status; api/observe.py).

    Request ids are a random per-process prefix and a counter: unique across workers and restarts without
    a call to the system's random source per request. Nothing is built for the log line when its level is
    off. Metrics are recorded just before the last body chunk leaves (so a client that has read a response
    can already scrape it), or when the app fails without answering (status 500).
    """

    def __init__(self, app: ASGIApp, routes: RouteLabels) -> None:
        self.app = app
        self._routes = routes
        self._prefix = secrets.token_hex(4)
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"{self._prefix}{next(self._ids):08x}"
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode())
        started = time.perf_counter()
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            observe_request(scope["method"], self._routes.label(scope), status, time.perf_counter() - started)

        async def observed_send(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
                msg["headers"] = [*msg.get("headers", ()), header]
            elif msg["type"] == "http.response.body" and not msg.get("more_body", False) and not recorded:
                record()
            await send(msg)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            if not recorded:
                record()
            if log.isEnabledFor(logging.INFO):
                ms = round((time.perf_counter() - started) * 1000, 2)
                log_request(request_id, scope["method"], scope["path"], status, ms)

"""The route class every API router uses, so request handling is decided in one place."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from . import strict_json

__all__ = ["ApiRoute", "StrictJsonRequest", "api_router"]


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
        if not _is_json(self.headers.get("content-type")) or not await self.body():
            return
        try:
            await self.json()
        except json.JSONDecodeError as exc:
            error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {}}
            raise RequestValidationError([{**error, "ctx": {"error": exc.msg}}]) from None


class ApiRoute(APIRoute):
    """An APIRoute with prefixgate's request handling: request bodies are strict JSON (I-JSON)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_no_body = self.body_field is None

        async def strict_json_handler(request: Request) -> Response:
            strict = StrictJsonRequest(request.scope, request.receive)
            if takes_no_body:
                await strict.check_unread_body()
            return await handler(strict)

        return strict_json_handler


def api_router(**options: Any) -> APIRouter:
    """An APIRouter whose routes are ApiRoutes."""
    return APIRouter(route_class=ApiRoute, **options)

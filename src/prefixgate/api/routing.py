"""The route class every API router uses, so request handling is decided in one place."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

__all__ = ["ApiRoute", "api_router"]


class ApiRoute(APIRoute):
    """An APIRoute with prefixgate's request handling."""


def api_router(**options: Any) -> APIRouter:
    """An APIRouter whose routes are ApiRoutes."""
    return APIRouter(route_class=ApiRoute, **options)

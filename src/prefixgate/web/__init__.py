"""The dashboard: server-rendered pages under /, calling the same service functions as the API."""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..api.routing import API_PREFIX
from .render import page
from .routes import audit, auth, custom_hostnames, delegated, home, prefixes, removals, spectrum, zones
from .security import SecurityHeaders

__all__ = ["install_web"]

PAGES = (auth, home, prefixes, removals, delegated, zones, spectrum, custom_hostnames, audit)


def install_web(app: FastAPI) -> None:
    """Add the dashboard's pages, its static files and its headers to `app`. Pages are matched after
    every API route; an unknown path outside the API answers an HTML 404 page to a browser."""
    for module in PAGES:
        app.router.routes.extend(module.router.routes)
    app.mount("/static", StaticFiles(packages=[("prefixgate.web", "static")]), name="static")
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        wants_html = "text/html" in request.headers.get("accept", "")
        if exc.status_code == 404 and wants_html and not request.url.path.startswith(API_PREFIX):
            return page(request, "error.html", {"status": 404, "message": "There is no page here."}, status=404)
        response = api_handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(StarletteHTTPException, not_found)
    app.add_middleware(SecurityHeaders, skip=API_PREFIX)

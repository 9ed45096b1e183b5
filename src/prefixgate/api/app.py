"""create_app(settings): the one way the HTTP application is built."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from .. import __version__
from ..adapters.db.engine import make_engine
from ..adapters.db.feed_watch import head_watcher
from ..adapters.db.pool_metrics import install_pool_metrics
from ..adapters.db.uow import SqlDatabase
from ..adapters.dns import DnsInspector
from ..metrics import worker_started
from ..revalidator import Revalidator
from ..service.auth import Authenticator
from ..service.ports import HostnameInspector
from ..settings import Settings
from ..web import install_web
from ..web.routing import refusal_page
from .docs import install_docs
from .errors import install_error_handlers
from .middleware import BodyLimit, RequestLog
from .observe import CachedCounts, RouteLabels, route_templates
from .protocol import DRAINING
from .routes import (
    access,
    accounts,
    address_maps,
    audit,
    bindings,
    custom_hostnames,
    delegations,
    edge,
    edge_feed,
    health,
    metrics,
    prefixes,
    spectrum,
    user,
    zones,
)
from .routing import API_PREFIX, worker_threads

__all__ = ["API_PREFIX", "create_app"]


def create_app(
    settings: Settings, db: SqlDatabase | None = None, inspector: HostnameInspector | None = None
) -> FastAPI:
    """Build the application. The database is opened here, never at import time."""
    app = FastAPI(
        lifespan=_lifespan,
        title="prefixgate",
        version=__version__,
        description="BYOIP prefixes and delegations behind a Cloudflare-compatible API.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by install_docs, with local assets
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,  # no OAuth2 flow to return to
    )
    app.state.settings = settings
    app.state.db = db or SqlDatabase(
        make_engine(
            settings.database_url,
            statement_timeout_ms=settings.statement_timeout_ms,
            connect_timeout_s=settings.connect_timeout_s,
            sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        ),
        edge_feed_keep=settings.edge_feed_keep,
    )
    app.state.inspector = inspector or DnsInspector(
        settings.dns_server,
        settings.dns_timeout_s,
        http_port=settings.validation_http_port,
        allow_non_global_http=settings.allow_non_public_prefixes,
    )
    app.state.feed_watch = head_watcher(app.state.db, connect_timeout_s=settings.connect_timeout_s)
    app.state.authenticator = Authenticator(settings.credential_cache_ttl_s)
    app.state.db.on_credentials_changed(app.state.authenticator.forget_all)
    install_pool_metrics(app.state.db.engine)
    app.state.object_counts = CachedCounts(app.state.db)
    install_error_handlers(app)
    # Every route joins the application's own list: probes first, so they are matched before any API route.
    for module in (
        health,
        metrics,
        accounts,
        user,
        prefixes,
        delegations,
        bindings,
        access,
        address_maps,
        audit,
        zones,
        spectrum,
        custom_hostnames,
        edge,
        edge_feed,
    ):
        app.router.routes.extend(module.router.routes)
    install_docs(app, API_PREFIX)
    # Before the dashboard's headers are added, so that they wrap its refusals too (outside the API).
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, page=refusal_page)
    install_web(app)
    templates = route_templates([("", app.routes)])
    _document_auth(app)
    app.add_middleware(RequestLog, routes=RouteLabels(templates))
    worker_started()
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    asyncio.get_running_loop().set_default_executor(worker_threads())
    interval = app.state.settings.revalidate_interval_s
    revalidator = Revalidator(app.state.db, app.state.inspector, interval) if interval > 0 else None
    if revalidator is not None:
        revalidator.start()
    watch = app.state.feed_watch
    watch.start()
    DRAINING.add(watch.release)  # `serve` stopping releases long polls first (protocol.py)
    try:
        yield
    finally:
        DRAINING.discard(watch.release)
        await watch.stop()
        if revalidator is not None:
            revalidator.stop()


def _document_auth(app: FastAPI) -> None:
    """Describe both credentials in the OpenAPI document. Checking them stays in deps.py, so a missing
    or bad credential is answered in the Cloudflare envelope, not FastAPI's."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "api_token": {"type": "http", "scheme": "bearer"},
                "api_email": {"type": "apiKey", "in": "header", "name": "X-Auth-Email"},
                "api_key": {"type": "apiKey", "in": "header", "name": "X-Auth-Key"},
            }
            schema["security"] = [{"api_token": []}, {"api_email": [], "api_key": []}]
            for path, ops in schema.get("paths", {}).items():
                if not path.startswith(API_PREFIX):
                    for op in ops.values():
                        op["security"] = []  # health checks need no credential
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

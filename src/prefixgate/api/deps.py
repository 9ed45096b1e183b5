"""Request dependencies, as Annotated aliases so a route's signature lists what it needs.

All of them are `async def` and do no I/O on the event loop, so none costs a hop into the thread pool;
the route body and its database work share one hop (see routing.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from ..domain.codes import Code
from ..domain.errors import AccessDenied, Unauthenticated
from ..domain.model import PageRequest
from ..service.auth import Authenticator, Credential
from ..service.context import Actor
from ..service.ports import Database, HeadWatch, HostnameInspector
from ..settings import Settings
from .routing import clean_path, in_thread, request_scope

__all__ = [
    "AccountPaging",
    "AddressingPaging",
    "AppSettings",
    "AuditPaging",
    "CurrentActor",
    "Db",
    "FeedActor",
    "FeedWatch",
    "Force",
    "Inspector",
    "MetricsScraper",
    "paging",
]


async def _db(request: Request) -> Database:
    return request_scope(request)


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _inspector(request: Request) -> HostnameInspector:
    inspector: HostnameInspector = request.app.state.inspector
    return inspector


Db = Annotated[Database, Depends(_db)]
Inspector = Annotated[HostnameInspector, Depends(_inspector)]
AppSettings = Annotated[Settings, Depends(_settings)]


def _credential(request: Request) -> Credential:
    headers = request.headers
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'", code=Code.AUTHENTICATION_ERROR)
        return Credential(bearer=value.strip())
    email, key = headers.get("x-auth-email"), headers.get("x-auth-key")
    if email is None or key is None:
        raise Unauthenticated(
            "Authentication error: send Authorization: Bearer <token>, or X-Auth-Email and X-Auth-Key",
            code=Code.AUTHENTICATION_ERROR,
        )
    return Credential(email=email, api_key=key)


async def _authenticate(request: Request, *, edge: bool) -> Actor:
    """The caller. A credential seen within the cache's lifetime costs no query and no thread hop;
    otherwise it is looked up in a hop of its own that holds nothing when it ends (RequestScope.before_route):
    no write lock, no connection. The path's ids are checked first
    (clean_path): one dependency fewer for FastAPI to solve on every request. Edge tokens count only
    with `edge`."""
    clean_path(request)
    credential = _credential(request)
    ip = request.client.host if request.client else None
    authenticator: Authenticator = request.app.state.authenticator
    actor = authenticator.cached(credential, ip, edge=edge)
    if actor is not None:
        return actor
    lookup: Callable[[Database], Actor] = functools.partial(
        authenticator.authenticate, credential=credential, ip=ip, edge=edge
    )
    return await in_thread(request_scope(request).before_route, lookup)


async def _actor(request: Request) -> Actor:
    return await _authenticate(request, edge=False)


async def _feed_actor(request: Request) -> Actor:
    return await _authenticate(request, edge=True)


async def _watch(request: Request) -> HeadWatch:
    watch: HeadWatch = request.app.state.feed_watch
    return watch


# The caller of any endpoint; an edge token is refused here as an unknown token is.
CurrentActor = Annotated[Actor, Depends(_actor)]
# The caller of the edge feed's endpoints (snapshot, changes, node reports): an edge token, or a user.
FeedActor = Annotated[Actor, Depends(_feed_actor)]
# This process's watch on the feed's head, for long polls.
FeedWatch = Annotated[HeadWatch, Depends(_watch)]


def _allowed(host: str | None, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    """Whether the client address `host` is inside one of `networks` (an IPv4-mapped IPv6 address
    counts as its IPv4 address). No address, or one that does not parse, is never allowed."""
    try:
        ip = ip_address(host or "")
    except ValueError:
        return False
    mapped = ip.ipv4_mapped if isinstance(ip, IPv6Address) else None
    return any(ip in net or (mapped is not None and mapped in net) for net in networks)


def _scraper(request: Request, settings: AppSettings) -> None:
    host = request.client.host if request.client else None
    if not _allowed(host, settings.metrics_allow):
        raise AccessDenied("metrics are not served to this address (see PREFIXGATE_METRICS_ALLOW)", code=Code.FORBIDDEN)


# A caller allowed to read /metrics: its address is in PREFIXGATE_METRICS_ALLOW (loopback by default).
MetricsScraper = Depends(_scraper)


def paging(default: int, maximum: int) -> Any:
    """A dependency reading `page` and `per_page` (1..maximum) from the query string."""

    # `maximum` is local to this call, so it must not appear in a (stringified) annotation:
    # FastAPI could not resolve it and every request sending per_page would fail with 500.
    async def _page(
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: int = Query(default, ge=1, le=maximum),
    ) -> PageRequest:
        return PageRequest(page=page, per_page=per_page)

    return Depends(_page)


# Page sizes: Cloudflare's account lists default to 20 (max 50). Prefix and delegation lists are
# read by the SDK as one page, so they default to the maximum a page may hold.
AccountPaging = Annotated[PageRequest, paging(20, 50)]
AddressingPaging = Annotated[PageRequest, paging(1000, 1000)]
AuditPaging = Annotated[PageRequest, paging(100, 1000)]

# `?force=true` on deletions that would strand Spectrum apps: block them instead of refusing.
Force = Annotated[bool, Query(description="Block dependent Spectrum apps instead of refusing")]

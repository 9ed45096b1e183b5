"""/edge/snapshot, /edge/changes and /edge/nodes: the change feed edges follow (docs/edge.md)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from ...edge.state import encode_snapshot
from ...service import edge_feed
from ...service.feed_records import change_set_record, node_record
from ..deps import AppSettings, CurrentActor, Db, FeedActor, FeedWatch
from ..envelope import ok
from ..routing import api_router, in_thread
from ..schemas.common import Envelope
from ..schemas.edge import ChangesOut, NodeOut, NodeReport, SnapshotOut
from ._common import ERRORS

router = api_router(prefix="/edge", tags=["Edge"], responses=ERRORS)

_MAX_REVISION = 2**63 - 1


@router.get("/snapshot", response_model=Envelope[SnapshotOut])
def get_snapshot(db: Db, actor: FeedActor) -> JSONResponse:
    """The whole serving state at one revision (edge tokens and operators)."""
    return JSONResponse(ok(encode_snapshot(edge_feed.snapshot(db, actor))))


@router.get("/changes", response_model=Envelope[ChangesOut])
async def get_changes(
    request: Request,
    db: Db,
    actor: FeedActor,
    watch: FeedWatch,
    since: Annotated[int, Query(ge=0, le=_MAX_REVISION, description="The revision the edge serves")],
    timeout: Annotated[int, Query(ge=0, le=edge_feed.MAX_WAIT_S, description="Seconds to wait for a change")] = 30,
) -> Response:
    """The changes after `since`; while there are none, waits up to `timeout` seconds for one.
    410 when `since` is older than the changes kept or ahead of the head: reload the snapshot."""
    waiting = asyncio.ensure_future(edge_feed.follow(db, actor, watch, since, timeout, run=in_thread))
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((waiting, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not waiting.done():  # the edge went away: stop waiting for it (and never hold up a shutdown)
        waiting.cancel()
        return Response(status_code=499)
    found = waiting.result()
    return await in_thread(lambda: JSONResponse(ok(change_set_record(found))))


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.put("/nodes/{name}", response_model=Envelope[NodeOut])
def report_node(db: Db, actor: FeedActor, settings: AppSettings, name: str, body: NodeReport) -> dict[str, object]:
    """Edge `name` serves `revision` (registers it on first report)."""
    status = edge_feed.report_node(db, actor, name, body.revision, stale_s=settings.edge_stale_s)
    return ok(node_record(status))


@router.get("/nodes", response_model=Envelope[list[NodeOut]])
def list_nodes(db: Db, actor: CurrentActor, settings: AppSettings) -> dict[str, object]:
    """Every edge that reported, how far behind the head it is, and whether it is stale (operators)."""
    return ok([node_record(s) for s in edge_feed.list_nodes(db, actor, stale_s=settings.edge_stale_s)])

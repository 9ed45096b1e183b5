"""/edge/resolve: who receives a connection to an address (operators)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from ...service import edge
from ...service.records import resolution_record
from ..deps import CurrentActor, Db
from ..envelope import ok
from ..routing import api_router
from ..schemas.common import Envelope
from ..schemas.zones import ResolveOut
from ._common import ERRORS

router = api_router(prefix="/edge", tags=["Edge"], responses=ERRORS)


@router.get("/resolve", response_model=Envelope[ResolveOut])
def resolve(
    db: Db,
    actor: CurrentActor,
    ip: Annotated[str, Query(max_length=64)],
    port: Annotated[int, Query(ge=1, le=65535)],
    protocol: Literal["tcp", "udp"] = "tcp",
    sni: Annotated[str | None, Query(max_length=253, description="TLS SNI or HTTP Host, for custom hostnames")] = None,
) -> dict[str, object]:
    """Which app or custom hostname, zone and account receive a connection to (ip, protocol, port) (with
    `sni` for HTTP(S)), or exactly why none does."""
    resolution = edge.resolve(db, actor, ip, protocol, port, sni=sni)
    return ok(resolution_record(resolution))

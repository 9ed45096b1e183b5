"""Liveness and readiness."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from ...domain.codes import Code
from ..deps import Db
from ..errors import error_response
from ..routing import probe_router

router = probe_router(tags=["Health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "The database does not answer"}})
def readyz(db: Db) -> JSONResponse:
    """The database answers."""
    try:
        db.ping()
    except Exception:  # any failure to reach the database means "not ready"
        return error_response(503, Code.SERVICE_UNAVAILABLE, "the database does not answer")
    return JSONResponse({"status": "ready"})

"""THE one table from errors to HTTP answers, and the handlers that apply it.

Every refusal leaves in the Cloudflare envelope; nothing leaves as a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..adapters.db.uow import DatabaseUnavailable
from ..domain.codes import Code
from ..domain.errors import (
    AccessDenied,
    Conflict,
    DomainError,
    FeedGone,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from ..metrics import count_error

__all__ = ["STATUS_BY_ERROR", "error_response", "install_error_handlers", "status_of"]

log = logging.getLogger("prefixgate.api")

# Walked along each error's class hierarchy (MRO), so one entry covers a whole branch.
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    AccessDenied: 403,
    NotFound: 404,
    Conflict: 409,
    FeedGone: 410,
    RateLimited: 429,
    DomainError: 400,
}


def error_response(
    status: int,
    code: int,
    message: str,
    headers: dict[str, str] | None = None,
    details: tuple[tuple[int, str], ...] = (),
) -> JSONResponse:
    count_error(code)
    errors = [{"code": int(c), "message": m} for c, m in ((code, message), *details)]
    body = {"success": False, "errors": errors, "messages": [], "result": None}
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return error_response(status, exc.code, exc.message, headers, exc.details)


def _describe(errors: Any) -> tuple[int, str]:
    parts: list[str] = []
    for err in list(errors)[:5]:
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error")
            return Code.INVALID_BODY, "the request body is not valid JSON" + (f": {reason}" if reason else "")
        loc = tuple(err.get("loc", ()))
        if loc[:1] == ("query",) and loc[1:2] in (("page",), ("per_page",)):
            return Code.INVALID_PAGINATION, f"invalid {loc[1]}: {err.get('msg', 'invalid')}"
        where = ".".join(str(p) for p in loc if p != "body") or "body"
        if err.get("type") == "missing" and where == "body":
            return Code.INVALID_BODY, "a JSON request body is required"
        if where == "body" and isinstance(err.get("input"), bytes):
            # FastAPI reads a body as JSON only when its Content-Type says so; otherwise the raw bytes land here.
            return Code.INVALID_BODY, "the request body must be JSON, sent with Content-Type: application/json"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return Code.INVALID_FIELD, "invalid request: " + "; ".join(parts)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    code, message = _describe(exc.errors())
    return error_response(400, code, message)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(404, Code.NO_ROUTE, "No route for that URI")
    if exc.status_code == 405:
        return error_response(405, Code.METHOD_NOT_ALLOWED, "Method not allowed for this URI")
    return error_response(exc.status_code, Code.INVALID_BODY, str(exc.detail))


async def _database(_: Request, exc: Exception) -> JSONResponse:
    log.warning("database.unavailable", extra={"error": type(exc).__name__})
    return error_response(
        503, Code.SERVICE_UNAVAILABLE, "the database is unavailable; retry shortly", {"Retry-After": "1"}
    )


async def _integrity(_: Request, exc: Exception) -> JSONResponse:
    # Rules are checked under lock before writing; a constraint firing means a concurrent
    # writer won a race the checks could not see. The request changed nothing.
    log.info("database.conflict", extra={"error": type(exc).__name__})
    return error_response(409, Code.CONFLICT, "the change conflicts with a concurrent change; nothing was stored")


async def _data(_: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the request carried (PostgreSQL: a NUL character, a string
    # longer than its column ...). The client's input is at fault, not the database's health.
    log.info("database.bad_value", extra={"error": type(exc).__name__})
    return error_response(400, Code.INVALID_FIELD, "a value in the request cannot be stored (e.g. a NUL character)")


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("request.failed")
    return error_response(500, Code.INTERNAL_ERROR, "internal error; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(DataError, _data)
    app.add_exception_handler(OperationalError, _database)
    app.add_exception_handler(PoolTimeout, _database)
    app.add_exception_handler(InterfaceError, _database)
    app.add_exception_handler(DatabaseUnavailable, _database)
    app.add_exception_handler(Exception, _unexpected)

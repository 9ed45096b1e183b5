"""What every API router shares: the error responses it documents."""

from __future__ import annotations

from typing import Any

from ..schemas.common import ErrorEnvelope

__all__ = ["ERRORS"]

ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorEnvelope, "description": "Refused; the envelope says why"},
    503: {"model": ErrorEnvelope, "description": "The database is unavailable"},
}

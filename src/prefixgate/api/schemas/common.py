"""The Cloudflare envelope."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field, StrictStr

T = TypeVar("T")

__all__ = ["Envelope", "ErrorEnvelope", "IdResult", "Message", "ResultInfo", "Text"]


_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _no_control_characters(value: str) -> str:
    if any((ord(c) < 32 and c not in _ALLOWED_CONTROLS) or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters such as NUL")
    return value


# Every string a client sends: a JSON string without NUL or other control characters (tab and
# newlines are allowed), so both engines store exactly the same values.
Text = Annotated[StrictStr, AfterValidator(_no_control_characters)]


class Message(BaseModel):
    code: int = Field(ge=1000)
    message: str


class ResultInfo(BaseModel):
    page: int
    per_page: int
    count: int
    total_count: int
    total_pages: int


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    errors: list[Message] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    result: T
    result_info: ResultInfo | None = None


class ErrorEnvelope(BaseModel):
    success: bool = False
    errors: list[Message] = Field(min_length=1)
    messages: list[Message] = Field(default_factory=list)
    result: None = None


class IdResult(BaseModel):
    id: str

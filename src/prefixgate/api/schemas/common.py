"""The Cloudflare envelope."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

__all__ = ["Envelope", "ErrorEnvelope", "IdResult", "Message", "ResultInfo"]


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

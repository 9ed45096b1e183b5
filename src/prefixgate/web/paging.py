"""Paged lists on pages: which page is shown, and links to the ones before and after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query

from ..domain.model import PageRequest

__all__ = ["PER_PAGE", "PageNumber", "Pager", "page_request"]

PER_PAGE = 50

PageNumber = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]


def page_request(number: int) -> PageRequest:
    return PageRequest(page=number, per_page=PER_PAGE)


@dataclass(frozen=True, slots=True)
class Pager:
    number: int
    total: int
    per_page: int = PER_PAGE

    @classmethod
    def of(cls, total: int, request: PageRequest) -> Pager:
        return cls(request.page, total, request.per_page)

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number * self.per_page < self.total else None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

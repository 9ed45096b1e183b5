"""Building successful Cloudflare envelopes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..domain.model import Page

__all__ = ["ok", "ok_page"]

T = TypeVar("T")


def ok(result: Any) -> dict[str, Any]:
    return {"success": True, "errors": [], "messages": [], "result": result}


def ok_page(page: Page[T], render: Callable[[T], Any]) -> dict[str, Any]:
    """A list envelope with Cloudflare's `result_info`; past the last page `result` is []."""
    items: Iterable[T] = page.items
    per_page = page.request.per_page
    return {
        **ok([render(i) for i in items]),
        "result_info": {
            "page": page.request.page,
            "per_page": per_page,
            "count": len(page.items),
            "total_count": page.total,
            "total_pages": max(1, -(-page.total // per_page)),
        },
    }

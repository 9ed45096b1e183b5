"""The addresses of the prefix pages, built in one place (the routes and the templates' links agree)."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["prefix_path"]


def prefix_path(account_id: str, prefix_id: str) -> str:
    """/accounts/{account_id}/ip-addresses/prefixes/{prefix_id}, each id quoted as a path segment."""
    return f"/accounts/{quote(account_id, safe='')}/ip-addresses/prefixes/{quote(prefix_id, safe='')}"

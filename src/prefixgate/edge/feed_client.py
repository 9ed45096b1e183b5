"""The edge's client of the control plane's change feed (docs/edge.md, section 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from .collector import building_long_lived
from .state import Change, CorruptSnapshot, EdgeState, decode_change, decode_snapshot

__all__ = ["ChangeBatch", "FeedClient", "FeedGone", "FeedUnavailable"]


class FeedUnavailable(Exception):
    """The control plane could not be reached or answered something unusable (it is retried)."""


class FeedGone(Exception):
    """410: the revision asked for is no longer kept (or is ahead of the control plane): reload the
    snapshot."""


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    revision: int
    changes: tuple[Change, ...]


class FeedClient:
    """Snapshot, changes and node reports over HTTP with an edge token.

    `base_url` is the address `prefixgate serve` listens on, without `/client/v4`.
    """

    def __init__(self, base_url: str, token: str, *, connect_timeout_s: float = 2.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/client/v4",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(connect_timeout_s, read=90.0),
        )

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, **params: Any) -> Any:
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as e:
            raise FeedUnavailable(f"GET {path}: {e!r}") from None
        if response.status_code == 410:
            raise FeedGone(_first_error(response))
        if response.status_code != 200:
            raise FeedUnavailable(f"GET {path} answered {response.status_code}: {_first_error(response)}")
        try:
            return response.json()["result"]
        except (ValueError, KeyError, TypeError):
            raise FeedUnavailable(f"GET {path} answered a body that is not the API's envelope") from None

    def snapshot(self) -> EdgeState:
        """The whole state. Raises CorruptSnapshot when its checksum does not match."""
        with building_long_lived():
            return decode_snapshot(self._get("/edge/snapshot"))

    def changes(self, since: int, timeout_s: float) -> ChangeBatch:
        """The changes after `since`, waiting up to `timeout_s` for one."""
        body = self._get("/edge/changes", since=since, timeout=int(timeout_s))
        if not isinstance(body, dict) or not isinstance(body.get("revision"), int):
            raise FeedUnavailable("the changes answer has no revision")
        raw = body.get("changes")
        if not isinstance(raw, list):
            raise FeedUnavailable("the changes answer has no list of changes")
        try:
            changes = tuple(decode_change(c) for c in raw)
        except CorruptSnapshot as e:
            raise FeedUnavailable(f"a malformed change: {e}") from None
        return ChangeBatch(body["revision"], changes)

    def report(self, name: str, revision: int) -> None:
        """Tell the control plane that edge `name` serves `revision`."""
        try:
            response = self._http.put(f"/edge/nodes/{name}", json={"revision": revision}, timeout=5.0)
        except httpx.HTTPError as e:
            raise FeedUnavailable(f"PUT /edge/nodes/{name}: {e!r}") from None
        if response.status_code != 200:
            raise FeedUnavailable(f"PUT /edge/nodes/{name} answered {response.status_code}: {_first_error(response)}")


def _first_error(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return str(errors[0].get("message")) if errors else response.text[:200]
    except (ValueError, AttributeError, TypeError, IndexError):
        return response.text[:200]

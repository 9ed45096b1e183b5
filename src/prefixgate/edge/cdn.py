"""Where the accounts that hold active custom hostnames may serve CDN, cut into areas of one set of
accounts each: what `cdn_ip.map` and `cdn_grant.map` are rendered from. Pure: stdlib only.

At a million delegations there are hundreds of thousands of areas, so they are kept packed: per family,
arrays of first and last addresses and one shared tuple per distinct set of accounts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["CdnArea", "CdnAreas"]


@dataclass(frozen=True, slots=True)
class CdnArea:
    """Addresses start..end (integers of IPv`version`) where exactly `account_ids` may serve CDN (among
    the accounts that hold an active custom hostname)."""

    version: int
    start: int
    end: int
    account_ids: tuple[str, ...]


class CdnAreas:
    """The areas, disjoint, in (version, start) order; iterating gives CdnArea rows."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Mapping[int, tuple[Sequence[int], Sequence[int], list[tuple[str, ...]]]]) -> None:
        self._rows = dict(rows)

    def __iter__(self) -> Iterator[CdnArea]:
        for version in sorted(self._rows):
            starts, ends, sets = self._rows[version]
            for s, e, ids in zip(starts, ends, sets, strict=True):
                yield CdnArea(version, s, e, ids)

    def __len__(self) -> int:
        return sum(len(starts) for starts, _, _ in self._rows.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CdnAreas):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

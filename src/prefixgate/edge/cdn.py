"""Where the accounts that hold active custom hostnames may serve CDN, cut into areas of one set of
accounts each: what `cdn_ip.map` and `cdn_grant.map` are rendered from. Pure: stdlib only.

At a million delegations there are hundreds of thousands of areas, so they are kept packed: per family,
arrays of first and last addresses and one shared tuple per distinct set of accounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ..domain.bindings import CDN
from .intervals import Segments, intersect, merge, pack, sweep_sets
from .state import PrefixRow

__all__ = ["CdnArea", "CdnAreas", "cdn_areas"]

_FAMILIES: Final = (4, 6)
Received = Mapping[tuple[str, int], list[tuple[int, int]]]  # (account, family) -> merged intervals


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


def cdn_areas(
    prefixes: Mapping[int, Segments[PrefixRow]],
    bindings: Mapping[int, Segments[str]],
    received: Received,
    accounts: set[str],
) -> CdnAreas:
    """Where each of `accounts` may serve CDN: its own approved prefixes and what it `received` on approved
    prefixes, where the longest-match binding is CDN.

    Args:
        prefixes, bindings: per family, the prefixes and the flattened bindings (service ids).
        received: per (account, family), the delegations to it on approved prefixes, merged.
    """
    rows: dict[int, tuple[Sequence[int], Sequence[int], list[tuple[str, ...]]]] = {}
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    for version in _FAMILIES:
        cdn = Segments((s, e, True) for s, e, sid in bindings[version].items() if sid == CDN.id)
        owned: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for s, e, p in prefixes[version].items():
            if p.approved and p.account_id in accounts:
                owned[p.account_id].append((s, e))
        groups: list[tuple[str, list[tuple[int, int]]]] = []
        for account in sorted(accounts):
            usable = merge(owned.get(account, []) + received.get((account, version), []))
            groups.append((account, merge((s, e) for s, e, _ in intersect(usable, cdn))))
        pieces = sweep_sets(groups)
        sets = [shared.setdefault(ids, ids) for _, _, ids in pieces]
        rows[version] = (pack(s for s, _, _ in pieces), pack(e for _, e, _ in pieces), sets)
    return CdnAreas(rows)

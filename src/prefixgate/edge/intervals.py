"""Integer intervals over one address family: the compiler's index structures.

Addresses are integers (IPv4 below 2**32, IPv6 below 2**128) and a CIDR is the closed interval of its
first and last address. Nothing here lists the addresses of a range: every operation works on range
ends, so an IPv6 /32 costs what a /128 costs. Pure: stdlib only.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

__all__ = ["Segments", "cidr_cover", "laminar_flatten", "merge", "pack", "sweep_sets"]

V = TypeVar("V")
K = TypeVar("K", bound=Hashable)

Interval = tuple[int, int]


class Segments(Generic[V]):
    """Disjoint closed intervals, sorted, each with a value; `at(x)` finds the one holding x by bisection."""

    __slots__ = ("ends", "starts", "values")

    def __init__(self, items: Iterable[tuple[int, int, V]]) -> None:
        ordered = sorted(items, key=lambda t: t[0])
        self.starts: list[int] = [s for s, _, _ in ordered]
        self.ends: list[int] = [e for _, e, _ in ordered]
        self.values: list[V] = [v for _, _, v in ordered]
        for i in range(1, len(self.starts)):
            if self.starts[i] <= self.ends[i - 1]:
                raise ValueError(f"segments overlap at {self.starts[i]}")

    def __len__(self) -> int:
        return len(self.starts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segments):
            return NotImplemented
        return (self.starts, self.ends, self.values) == (other.starts, other.ends, other.values)

    __hash__ = None  # type: ignore[assignment]

    def items(self) -> Iterator[tuple[int, int, V]]:
        return zip(self.starts, self.ends, self.values, strict=True)

    def index(self, x: int) -> int:
        """The position of the segment holding x, or -1."""
        i = bisect_right(self.starts, x) - 1
        return i if i >= 0 and self.ends[i] >= x else -1

    def at(self, x: int) -> V | None:
        i = self.index(x)
        return self.values[i] if i >= 0 else None

    def overlapping(self, start: int, end: int) -> Iterator[tuple[int, int, V]]:
        """The segments meeting [start, end], clipped to it, in order."""
        i = max(bisect_right(self.starts, start) - 1, 0)
        n = len(self.starts)
        while i < n and self.starts[i] <= end:
            if self.ends[i] >= start:
                yield max(self.starts[i], start), min(self.ends[i], end), self.values[i]
            i += 1


def pack(values: Iterable[int]) -> Sequence[int]:
    """The integers in an unsigned 64-bit array when they all fit (IPv4: 8 bytes each instead of ~36 for a
    list of ints), else a list."""
    items = list(values)
    if not items or max(items) < 1 << 64:
        return array("Q", items)
    return items


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union as sorted disjoint intervals; touching intervals ([1, 2] and [3, 4]) become one."""
    out: list[Interval] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1] + 1:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def laminar_flatten(items: Iterable[tuple[int, int, V]]) -> list[tuple[int, int, V]]:
    """Flatten intervals that nest or are disjoint (never cross), as CIDRs do: each point takes the value of
    the innermost interval holding it (the longest match). Equal intervals: the later one in `items` wins.
    Adjacent pieces with equal values are joined."""
    ordered = sorted(enumerate(items), key=lambda t: (t[1][0], -t[1][1], t[0]))
    out: list[tuple[int, int, V]] = []

    def emit(s: int, e: int, v: V) -> None:
        if s > e:
            return
        if out and out[-1][1] + 1 == s and out[-1][2] == v:
            out[-1] = (out[-1][0], e, v)
        else:
            out.append((s, e, v))

    stack: list[tuple[int, V]] = []  # (end, value), innermost last
    pos = 0  # the first point not yet emitted
    for _, (s, e, v) in ordered:
        while stack and stack[-1][0] < s:
            end, val = stack.pop()
            emit(pos, end, val)
            pos = end + 1
        if stack:
            emit(pos, s - 1, stack[-1][1])
        stack.append((e, v))
        pos = s
    while stack:
        end, val = stack.pop()
        emit(pos, end, val)
        pos = end + 1
    return out


def sweep_sets(groups: Iterable[tuple[K, Sequence[Interval]]]) -> list[tuple[int, int, tuple[K, ...]]]:
    """Cut the union of every group's (sorted, disjoint) intervals into pieces on which the set of groups
    present is constant: (start, end, sorted group keys). Adjacent pieces with the same set are joined."""
    events: list[tuple[int, int, K]] = []  # (position, +1 opens / -1 closes, key)
    for key, intervals in groups:
        for s, e in intervals:
            events.append((s, 1, key))
            events.append((e + 1, -1, key))
    events.sort(key=lambda t: (t[0], t[1]))
    out: list[tuple[int, int, tuple[K, ...]]] = []
    present: dict[K, int] = {}
    i, n = 0, len(events)
    while i < n:
        pos = events[i][0]
        while i < n and events[i][0] == pos:
            _, delta, key = events[i]
            count = present.get(key, 0) + delta
            if count:
                present[key] = count
            else:
                present.pop(key, None)
            i += 1
        if present and i < n:
            keys = tuple(sorted(present))  # type: ignore[type-var]
            end = events[i][0] - 1
            if out and out[-1][1] + 1 == pos and out[-1][2] == keys:
                out[-1] = (out[-1][0], end, keys)
            else:
                out.append((pos, end, keys))
    return out


def cidr_cover(start: int, end: int, bits: int) -> Iterator[tuple[int, int]]:
    """The fewest CIDRs exactly covering [start, end], in order, as (network integer, prefix length); what
    `ipaddress.summarize_address_range` gives, on integers."""
    while start <= end:
        size = start & -start if start else 1 << bits
        span = end - start + 1
        if size > span:
            size = 1 << (span.bit_length() - 1)
        yield start, bits - (size.bit_length() - 1)
        start += size

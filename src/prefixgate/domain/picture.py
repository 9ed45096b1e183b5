"""The picture of a prefix: which of its addresses are delegated and to whom, what is put to work on
them, and which service binding covers them, drawn as at most 256 cells.

A prefix of up to 256 addresses gets one cell per address; a larger one (any IPv6 prefix) is cut into
equal sub-prefixes, one cell each, and a cell whose addresses differ is "mixed". The addresses are never
listed: one sweep over the boundaries of the delegations and bindings decides every cell, so a /32 of
IPv6 costs what a /24 of IPv4 does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from .net import IPAddress, IPNetwork

__all__ = [
    "DELEGATED",
    "HOSTNAME",
    "MARK_KINDS",
    "MAX_CELLS",
    "MIXED",
    "MIXED_BINDING",
    "OWNED",
    "SPECTRUM",
    "Bound",
    "Cell",
    "Grant",
    "Mark",
    "Picture",
    "address_count",
    "draw",
]

MAX_CELLS = 256
OWNED, DELEGATED, MIXED = "owned", "delegated", "mixed"
SPECTRUM, HOSTNAME = "spectrum", "hostname"
MARK_KINDS = (SPECTRUM, HOSTNAME)
MIXED_BINDING = "mixed"
_KEPT_MARKS = 4  # a cell keeps its first few marks for its tooltip and counts the rest


@dataclass(frozen=True, slots=True)
class Grant:
    """A delegation as the picture sees it: part (or all) of the prefix, and the account it went to."""

    cidr: IPNetwork
    account_id: str


@dataclass(frozen=True, slots=True)
class Mark:
    """Something at work on one address: a Spectrum app or an active custom hostname (`kind`), with
    `label`, what a tooltip may say of it to the viewer."""

    ip: IPAddress
    kind: str
    label: str


@dataclass(frozen=True, slots=True)
class Bound:
    """A service binding: the most specific one covering an address decides its service."""

    cidr: IPNetwork
    service: str


@dataclass(frozen=True, slots=True)
class Cell:
    """One square of the picture: a single address, or a block of equal size."""

    net: IPNetwork
    state: str  # OWNED (no address delegated), DELEGATED (every address to the same accounts), MIXED
    accounts: tuple[str, ...]  # every account an address of the cell is delegated to, sorted
    delegated: int  # how many of its addresses are delegated (to anyone)
    marks: tuple[str, ...]  # the kinds of mark on its addresses, in MARK_KINDS order
    found: tuple[Mark, ...]  # its first marks, in address order
    more: int  # how many more marks it has than `found` holds
    services: tuple[str, ...]  # the services binding its addresses, sorted; "" where one is unbound

    @property
    def first(self) -> IPAddress:
        return self.net.network_address

    @property
    def size(self) -> int:
        return self.net.num_addresses

    @property
    def binding(self) -> str:
        """The one service binding every address of the cell, "" when none is bound, MIXED_BINDING else."""
        return self.services[0] if len(self.services) == 1 else MIXED_BINDING


@dataclass(frozen=True, slots=True)
class Picture:
    prefix: IPNetwork
    cells: tuple[Cell, ...]
    delegated: int  # addresses delegated to at least one account
    accounts: tuple[str, ...]  # delegatees, in the order their first grant was given

    @property
    def total(self) -> int:
        return self.prefix.num_addresses

    @property
    def per_cell(self) -> int:
        return self.cells[0].size

    @property
    def columns(self) -> int:
        return min(16, len(self.cells))

    @property
    def summary(self) -> str:
        """E.g. "12 of 256 addresses delegated to 1 account"."""
        if self.delegated == 0:
            return f"None of the {address_count(self.total)} addresses is delegated"
        n = len(self.accounts)
        to = f"delegated to {n} account{'' if n == 1 else 's'}"
        if self.total <= 1 << 32:
            return f"{self.delegated} of {self.total} addresses {to}"
        share = 100 * self.delegated / self.total
        return f"{share:.4g}% of the {address_count(self.total)} addresses {to}"


def address_count(n: int) -> str:
    """A number of addresses as people write it: 256, or 2^80 for the sizes of IPv6."""
    return str(n) if n <= 1 << 32 or n & (n - 1) else f"2^{n.bit_length() - 1}"


def _span(net: IPNetwork, prefix: IPNetwork) -> tuple[int, int] | None:
    """The part of `net` inside `prefix`, as [start, stop) integers; None when they share no address."""
    if net.version != prefix.version or not net.overlaps(prefix):
        return None
    start = max(int(net.network_address), int(prefix.network_address))
    stop = min(int(net.broadcast_address), int(prefix.broadcast_address)) + 1
    return start, stop


def _cell_bits(prefix: IPNetwork, max_cells: int) -> int:
    if max_cells < 1 or max_cells & (max_cells - 1):
        raise ValueError(f"max_cells must be a power of two, not {max_cells}")
    host_bits = prefix.max_prefixlen - prefix.prefixlen
    return max(0, host_bits - (max_cells.bit_length() - 1))


class _Tally:
    """What one cell has seen while the sweep passes over it."""

    __slots__ = ("delegated", "grants", "marks", "services")

    def __init__(self) -> None:
        self.grants: set[frozenset[str]] = set()
        self.delegated = 0
        self.services: set[str] = set()
        self.marks: list[Mark] = []


def _sweep(
    prefix: IPNetwork, grants: Sequence[Grant], bounds: Sequence[Bound], cell_bits: int, tallies: list[_Tally]
) -> None:
    """Walk the stretches between consecutive boundaries (of grants, bindings and cells): inside one,
    every address has the same delegatees and the same binding, and the stretch lies in one cell."""
    base = int(prefix.network_address)
    stop = base + prefix.num_addresses
    opening: dict[int, list[tuple[str, int]]] = {}
    points = {base + (i << cell_bits) for i in range(len(tallies))} | {stop}
    for g in grants:
        span = _span(g.cidr, prefix)
        if span is not None:
            opening.setdefault(span[0], []).append((g.account_id, 1))
            opening.setdefault(span[1], []).append((g.account_id, -1))
            points.update(span)
    binding_at: dict[int, list[tuple[int, int]]] = {}
    for i, b in enumerate(bounds):
        span = _span(b.cidr, prefix)
        if span is not None:
            binding_at.setdefault(span[0], []).append((i, 1))
            binding_at.setdefault(span[1], []).append((i, -1))
            points.update(span)
    holders: Counter[str] = Counter()
    covering: set[int] = set()
    edges = sorted(points)
    for lo, hi in pairwise(edges):
        for account, step in opening.get(lo, ()):
            holders[account] += step
            if not holders[account]:
                del holders[account]
        for index, step in binding_at.get(lo, ()):
            (covering.add if step > 0 else covering.discard)(index)
        tally = tallies[(lo - base) >> cell_bits]
        tally.grants.add(frozenset(holders))
        if holders:
            tally.delegated += hi - lo
        best = max(covering, key=lambda i: bounds[i].cidr.prefixlen, default=None)
        tally.services.add(bounds[best].service if best is not None else "")


def _order(marks: Iterable[Mark]) -> list[Mark]:
    return sorted(marks, key=lambda m: (int(m.ip), MARK_KINDS.index(m.kind) if m.kind in MARK_KINDS else 9, m.label))


def draw(
    prefix: IPNetwork,
    grants: Sequence[Grant],
    marks: Iterable[Mark],
    bounds: Sequence[Bound],
    *,
    max_cells: int = MAX_CELLS,
) -> Picture:
    """The picture of `prefix`. Grants, marks and bindings outside it are left out.

    Args:
        grants: the prefix's delegations, oldest first (the order the legend gives the accounts).
        marks: what is at work on its addresses.
        bounds: its service bindings.
        max_cells: a power of two; a prefix with more addresses is drawn in that many blocks.

    Raises:
        ValueError: max_cells is not a power of two.
    """
    cell_bits = _cell_bits(prefix, max_cells)
    host_bits = prefix.max_prefixlen - prefix.prefixlen
    tallies = [_Tally() for _ in range(1 << (host_bits - cell_bits))]
    _sweep(prefix, grants, bounds, cell_bits, tallies)
    base = int(prefix.network_address)
    for m in _order(marks):
        if m.ip.version == prefix.version and m.ip in prefix:
            tallies[(int(m.ip) - base) >> cell_bits].marks.append(m)
    length = prefix.max_prefixlen - cell_bits
    network = type(prefix)
    cells = tuple(_cell(network((base + (i << cell_bits), length)), t) for i, t in enumerate(tallies))
    seen = dict.fromkeys(g.account_id for g in grants if _span(g.cidr, prefix) is not None)
    return Picture(prefix=prefix, cells=cells, delegated=sum(c.delegated for c in cells), accounts=tuple(seen))


def _cell(net: IPNetwork, t: _Tally) -> Cell:
    state = MIXED if len(t.grants) > 1 else DELEGATED if t.delegated else OWNED
    kinds = {m.kind for m in t.marks}
    return Cell(
        net=net,
        state=state,
        accounts=tuple(sorted(frozenset[str]().union(*t.grants))),
        delegated=t.delegated,
        marks=tuple(k for k in MARK_KINDS if k in kinds),
        found=tuple(t.marks[:_KEPT_MARKS]),
        more=max(0, len(t.marks) - _KEPT_MARKS),
        services=tuple(sorted(t.services)),
    )

"""One prefix's part of the compiled table: its flattened bindings, who was delegated what inside it, and
where the accounts holding custom hostnames may serve CDN there. Pure: stdlib only.

Prefixes never overlap, and a delegation or binding only counts inside its own prefix, so everything
that decides usability at an address is a function of the one prefix holding it. The table keeps one
`PrefixPiece` per prefix and, when a change touches a prefix (the prefix itself, one of its delegations
or bindings), rebuilds only that piece: a revocation costs what its prefix holds, not what the whole
state holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import Final

from ..domain.bindings import CDN
from ..domain.net import IPNetwork
from .intervals import Segments, laminar_flatten, merge, sweep_sets
from .state import BindingRow, DelegationRow, PrefixRow

__all__ = ["CdnPiece", "PrefixPiece", "bounds", "build_piece", "cdn_of_piece"]

CdnPiece = tuple[tuple[int, int, tuple[str, ...]], ...]  # (start, end, account ids), sorted, disjoint
_NOBODY: Final[tuple[str, ...]] = ()


def bounds(net: IPNetwork) -> tuple[int, int]:
    """The first and last address of `net` as integers."""
    start = int(net.network_address)
    return start, start | ((1 << (net.max_prefixlen - net.prefixlen)) - 1)  # cheaper than broadcast_address


@dataclass(frozen=True, slots=True)
class PrefixPiece:
    """A prefix and what its delegations and bindings make of it.

    Attributes:
        bindings: the service id of the longest-match binding, per stretch of the prefix.
        delegated: the accounts delegated each stretch (sorted ids), where any delegation lies.
        accounts: every account delegated some of it.
    """

    row: PrefixRow
    start: int
    end: int
    bindings: Segments[str]
    delegated: Segments[tuple[str, ...]]
    accounts: frozenset[str]

    def delegated_to(self, account_id: str, x: int) -> bool:
        """Whether `account_id` was delegated address x (an integer inside the prefix)."""
        holders = self.delegated.at(x)
        return holders is not None and account_id in holders


def build_piece(prefix: PrefixRow, delegations: Iterable[DelegationRow], bindings: Iterable[BindingRow]) -> PrefixPiece:
    """The piece of `prefix`, from its delegations and bindings (each clipped to the prefix; rows of the
    other address family, or outside it, count for nothing, as in the database's rules)."""
    ps, pe = bounds(prefix.cidr)
    version = prefix.cidr.version
    found: list[tuple[str, int, int, str]] = []
    for b in bindings:
        if b.cidr.version != version:
            continue
        bs, be = bounds(b.cidr)
        if bs <= pe and be >= ps:
            found.append((b.id, max(ps, bs), min(pe, be), b.service_id))
    flat = laminar_flatten((s, e, sid) for _, s, e, sid in sorted(found))
    received: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for d in delegations:
        if d.cidr.version != version:
            continue
        ds, de = bounds(d.cidr)
        if ds <= pe and de >= ps:
            received[d.delegated_account_id].append((max(ps, ds), min(pe, de)))
    pieces = sweep_sets(sorted((account, merge(parts)) for account, parts in received.items()))
    return PrefixPiece(prefix, ps, pe, Segments(flat), Segments(pieces), frozenset(received))


def cdn_of_piece(piece: PrefixPiece, accounts: Set[str]) -> CdnPiece:
    """Where each of `accounts` may serve CDN inside the piece, cut into stretches of one set of them:
    the owner everywhere (when it is one of them), a delegatee where it was delegated; only on an
    approved prefix, and where the longest-match binding is CDN. Adjacent stretches of one set are
    joined."""
    if not piece.row.approved:
        return ()
    owner: tuple[str, ...] = (piece.row.account_id,) if piece.row.account_id in accounts else _NOBODY
    out: list[tuple[int, int, tuple[str, ...]]] = []

    def emit(s: int, e: int, ids: tuple[str, ...]) -> None:
        if not ids or s > e:
            return
        if out and out[-1][1] + 1 == s and out[-1][2] == ids:
            out[-1] = (out[-1][0], e, ids)
        else:
            out.append((s, e, ids))

    for bs, be, service in piece.bindings.items():
        if service != CDN.id:
            continue
        pos = bs
        for ds, de, holders in piece.delegated.overlapping(bs, be):
            emit(pos, ds - 1, owner)
            mine = tuple(sorted(set(owner).union(a for a in holders if a in accounts)))
            emit(ds, de, mine)
            pos = de + 1
        emit(pos, be, owner)
    return tuple(out)

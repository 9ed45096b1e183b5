"""The map on a prefix's edit page: the domain's picture, with what the viewer may read of it.

The owner sees marks for the apps and active hostnames on all of its prefix's addresses (the delegation
impact already tells it about them), but only names those of accounts the viewer belongs to: another
tenant's app shows as its kind and port, another tenant's hostname as "active custom hostname".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..domain.bindings import Binding
from ..domain.model import Delegation, Prefix
from ..domain.picture import (
    DELEGATED,
    HOSTNAME,
    MIXED,
    MIXED_BINDING,
    OWNED,
    SPECTRUM,
    Bound,
    Cell,
    Grant,
    Mark,
    Picture,
    address_count,
    draw,
)
from .ports import UnitOfWork

__all__ = ["PALETTE", "Key", "MapCell", "PrefixMap", "prefix_map"]

PALETTE = 8  # app.css colours delegatees d0 … d7; more accounts than that share colours


@dataclass(frozen=True, slots=True)
class Key:
    """One line of the legend: the CSS class that draws it, and what it means."""

    css: str
    label: str
    symbol: str = ""  # the letter a mark draws on its cells


@dataclass(frozen=True, slots=True)
class MapCell:
    cell: Cell
    column: int
    row: int
    colour: str  # CSS class of the fill: "owned", "d0" … "d7", "multi" or "mixed"
    outline: str  # CSS class of the outline: the binding's service ("b-spectrum" …), "b-none" or "b-mixed"
    tooltip: str

    @property
    def ip(self) -> str:
        return str(self.cell.first)

    @property
    def state(self) -> str:
        return self.cell.state

    @property
    def account(self) -> str:
        return " ".join(self.cell.accounts)

    @property
    def marks(self) -> str:
        return " ".join(self.cell.marks)

    @property
    def binding(self) -> str:
        return self.cell.binding

    @property
    def plain(self) -> bool:
        """Only owned, nothing at work on it: the text version of the map leaves it out."""
        return self.cell.state == OWNED and not self.cell.marks


@dataclass(frozen=True, slots=True)
class PrefixMap:
    picture: Picture
    cells: tuple[MapCell, ...]
    rows: tuple[str, ...]  # the first address of each row of cells
    colours: tuple[Key, ...]
    outlines: tuple[Key, ...]
    marks: tuple[Key, ...]
    scale: str

    @property
    def columns(self) -> int:
        return self.picture.columns

    @property
    def summary(self) -> str:
        return self.picture.summary

    @property
    def listed(self) -> tuple[MapCell, ...]:
        """The cells worth reading out: delegated, mixed, or with something at work on them."""
        return tuple(c for c in self.cells if not c.plain)


MARK_KEYS = (
    Key("mark-spectrum", "A Spectrum app listens on the address", "S"),
    Key("mark-hostname", "An active custom hostname was validated on the address", "H"),
)


def _outline(service: str) -> str:
    if service == MIXED_BINDING:
        return "b-mixed"
    return "b-" + (re.sub(r"[^a-z0-9]+", "-", service.lower()).strip("-") or "none")


def _where(cell: Cell) -> str:
    if cell.size == 1:
        return str(cell.first)
    return f"{cell.net} ({address_count(cell.size)} addresses)"


def _names(ids: Sequence[str], names: Mapping[str, str]) -> str:
    labels = [names.get(i, i) for i in ids]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _who(cell: Cell, names: Mapping[str, str]) -> str:
    if cell.state == OWNED:
        return "not delegated"
    if cell.state == DELEGATED:
        return f"delegated to {_names(cell.accounts, names)}"
    if cell.size <= 1 << 32:
        return f"{cell.delegated} of {cell.size} addresses delegated (to {_names(cell.accounts, names)})"
    return f"partly delegated (to {_names(cell.accounts, names)})"


def _bound(cell: Cell) -> str:
    if cell.binding == "":
        return "no service binding"
    if cell.binding != MIXED_BINDING:
        return f"binding: {cell.binding}"
    parts = [s for s in cell.services if s] + (["unbound"] if "" in cell.services else [])
    return "bindings: " + ", ".join(parts)


def _tooltip(cell: Cell, names: Mapping[str, str]) -> str:
    parts = [_where(cell), _who(cell, names)]
    parts += [m.label if cell.size == 1 else f"{m.label} on {m.ip}" for m in cell.found]
    if cell.more:
        parts.append(f"and {cell.more} more")
    parts.append(_bound(cell))
    return " — ".join(parts)


def _colour(cell: Cell, hue: Mapping[str, str]) -> str:
    if cell.state != DELEGATED:
        return cell.state  # "owned" or "mixed"
    return hue[cell.accounts[0]] if len(cell.accounts) == 1 else "multi"


def _marks(uow: UnitOfWork, prefix: Prefix, names: Mapping[str, str]) -> list[Mark]:
    """What is at work on the prefix's addresses, named only for the viewer's own accounts."""
    found: list[Mark] = []
    for app, ip in uow.spectrum.using_range(prefix.cidr, account_id=None):
        label = f"Spectrum app {app.protocol}"
        found.append(Mark(ip, SPECTRUM, f"{label} ({app.dns_name})" if app.account_id in names else label))
    for host, ip in uow.hostnames.using_range(prefix.cidr, account_id=None):
        label = f"custom hostname {host.hostname}" if host.account_id in names else "active custom hostname"
        found.append(Mark(ip, HOSTNAME, label))
    return found


def prefix_map(
    uow: UnitOfWork,
    prefix: Prefix,
    delegations: Sequence[Delegation],
    bindings: Sequence[Binding],
    names: Mapping[str, str],
) -> PrefixMap:
    """The map of `prefix`, read inside the caller's unit of work (which has checked the viewer's access).

    Args:
        delegations: the prefix's delegations, oldest first.
        names: the names of the accounts the viewer belongs to; other accounts are shown by id.
    """
    picture = draw(
        prefix.cidr,
        [Grant(d.cidr, d.delegated_account_id) for d in delegations],
        _marks(uow, prefix, names),
        [Bound(b.cidr, b.service.name) for b in bindings],
    )
    hue = {account: f"d{i % PALETTE}" for i, account in enumerate(picture.accounts)}
    cols = picture.columns
    cells = tuple(
        MapCell(
            cell=c,
            column=i % cols,
            row=i // cols,
            colour=_colour(c, hue),
            outline=_outline(c.binding),
            tooltip=_tooltip(c, names),
        )
        for i, c in enumerate(picture.cells)
    )
    used = {c.colour for c in cells}
    colours = [Key("owned", "Not delegated: this account's own")]
    colours += [Key(hue[a], f"Delegated to {names.get(a, a)}") for a in picture.accounts]
    if "multi" in used:
        colours.append(Key("multi", "Delegated to several accounts at once"))
    if MIXED in used:
        colours.append(Key(MIXED, "A block whose addresses differ (partly delegated, or to different accounts)"))
    outlines = {c.outline: c.binding for c in cells}
    outline_keys = [
        Key(
            css,
            "Not bound to a service"
            if s == ""
            else "Bound to several services"
            if s == MIXED_BINDING
            else f"Bound to {s}",
        )
        for css, s in sorted(outlines.items())
    ]
    per = picture.per_cell
    scale = (
        "One cell per address."
        if per == 1
        else f"Each cell is a /{picture.cells[0].net.prefixlen} block of {address_count(per)} addresses."
    )
    return PrefixMap(
        picture=picture,
        cells=cells,
        rows=tuple(str(picture.cells[r * cols].first) for r in range(len(cells) // cols)),
        colours=tuple(colours),
        outlines=tuple(outline_keys),
        marks=MARK_KEYS,
        scale=scale,
    )

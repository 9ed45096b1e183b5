"""The five HAProxy maps as data: their names, what an entry may hold, their files, and the safe order in
which a change from one set of maps to another is applied.

No HAProxy here and nothing imported from the compiler: a `MapSet` is the compiler's output shape
(map file name -> key -> value, values formatted as docs/edge.md section 3 says); the names come from
map_names.py, which imports nothing.

Why the order is safe. A connection is served through a chain of lookups: edge IP -> slot (the
pointer, spectrum_ip.map) -> port entry (the pointee, spectrum_port.map); or hostname -> account, edge
IP -> block (cdn_ip.map) -> grant of block|account (cdn_grant.map). Keys of one map never overlap
(exact addresses and names, disjoint port ranges, a cover of disjoint CIDRs), so while old and new
entries stand side by side each lookup finds the old value, the new one, or nothing (`map_ip` takes the
longest match; `map_int` the first, and old entries come before added ones). Only a chain that mixes
an old pointer with a new pointee, or a new pointer with an old one, could give a third answer, or a
hostname whose account's grants change under it. `plan_changes` runs in seven phases:

1. delete the hostnames that go, and those that change but whose grants may change under them (their
   account changes, gains or loses a grant, or is granted on a block a CIDR moves to or from); delete
   the pointers that leave a number (they change or go) whose pointees are added to or changed;
2. delete the pointees that go from a number that pointers move to (they change or are added);
3. add and set the pointees, and set the other changed hostnames (their chain answers as before);
4. add and set the pointers (more specific CIDRs go in before the less specific ones they replace
   are deleted, so coverage never lapses);
5. delete the pointers that go;
6. delete the pointees that go: now every pointer and pointee is the new one;
7. add the new hostnames and those deleted in phase 1.

So a pointer never reaches a pointee its number did not hold in its own maps, and a hostname answers
only on grants that are all old or all new (or the same in both). Given maps rendered with the previous
ones (`render_maps(previous=...)`, which keeps every number's meaning) phases 1 and 2 delete nothing but
hostnames, and a connection whose hostname stays the same is never refused on the way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from .map_names import CDN_GRANT, CDN_IP, HOSTNAME, MAP_NAMES, SLOT_SIZE, SPECTRUM_IP, SPECTRUM_PORT

__all__ = [
    "CDN_GRANT",
    "CDN_IP",
    "HOSTNAME",
    "MAP_NAMES",
    "SPECTRUM_IP",
    "SPECTRUM_PORT",
    "MapSet",
    "Step",
    "check_entry",
    "plan_changes",
    "render_map",
    "write_map_files",
]

MapSet = Mapping[str, Mapping[str, str]]

# Whitespace separates key from value in a map file and arguments on the runtime API; `;` separates
# commands and `\` escapes there. None of them occurs in an address, a number, an id or a DNS name.
_FORBIDDEN: Final = re.compile(r"[\s;\\#]")


@dataclass(frozen=True, slots=True)
class Step:
    """One runtime-API change: `del` (value is None), `set` or `add` of `key` in map `name`."""

    op: Literal["del", "set", "add"]
    name: str
    key: str
    value: str | None = None


def check_entry(name: str, key: str, value: str) -> None:
    """Refuse an entry HAProxy would misread.

    Raises:
        ValueError: unknown map name, empty key or value, or a character that would split or escape it.
    """
    if name not in MAP_NAMES:
        raise ValueError(f"unknown map {name!r}")
    for what, text in (("key", key), ("value", value)):
        if not text or _FORBIDDEN.search(text):
            raise ValueError(f"{name}: {what} {text!r} is empty or holds whitespace, ';', '#' or '\\'")


def _checked(maps: MapSet) -> MapSet:
    for name, entries in maps.items():
        for key, value in entries.items():
            check_entry(name, key, value)
    return maps


def render_map(entries: Mapping[str, str]) -> str:
    """A map file's text: one `key value` line per entry, in key order."""
    return "".join(f"{k} {entries[k]}\n" for k in sorted(entries))


def write_map_files(maps_dir: Path, maps: MapSet) -> None:
    """Write all five map files (a missing map is written empty), each atomically (write, then rename)."""
    _checked(maps)
    maps_dir.mkdir(parents=True, exist_ok=True)
    for name in MAP_NAMES:
        path = maps_dir / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(render_map(maps.get(name, {})), encoding="ascii")
        os.replace(tmp, path)


def _slot_of_key(key: str) -> str:
    return str(int(key.partition(":")[0]) // SLOT_SIZE)


def _block_of_key(key: str) -> str:
    return key.partition("|")[0]


def _slot_of_value(value: str) -> str:
    return str(int(value))  # HAProxy computes with the slot as a number


def _block_of_value(value: str) -> str:
    return value  # HAProxy pastes the block into the grant's key as text


# (pointer map, pointee map, the number a pointer's value names, the number a pointee's key belongs to)
_CHAINS: Final = (
    (SPECTRUM_IP, SPECTRUM_PORT, _slot_of_value, _slot_of_key),
    (CDN_IP, CDN_GRANT, _block_of_value, _block_of_key),
)


@dataclass(frozen=True, slots=True)
class _Delta:
    """The keys of one map that the new maps add, change and remove, each sorted."""

    added: list[str]
    changed: list[str]
    removed: list[str]

    @classmethod
    def of(cls, old: Mapping[str, str], new: Mapping[str, str], keys: Collection[str] | None = None) -> _Delta:
        if keys is None:
            touched = {k for k, _ in old.items() ^ new.items()}  # set operations on the items run in C
        else:
            touched = {k for k in keys if old.get(k) != new.get(k)}
        return cls(
            sorted(k for k in touched if k not in old),
            sorted(k for k in touched if k in old and k in new),
            sorted(k for k in touched if k not in new),
        )


class _Plan:
    """The steps so far, and which keys they deleted (a key deleted early is added back, not set)."""

    def __init__(self, old: Mapping[str, Mapping[str, str]], new: Mapping[str, Mapping[str, str]]) -> None:
        self.old, self.new = old, new
        self.steps: list[Step] = []
        self._gone: set[tuple[str, str]] = set()

    def delete(self, name: str, keys: Iterable[str]) -> None:
        for key in keys:
            if (name, key) not in self._gone:
                self._gone.add((name, key))
                self.steps.append(Step("del", name, key))

    def put(self, name: str, keys: Iterable[str]) -> None:
        """Add or set each key to its new value: the adds first, then the sets (each a run to batch)."""
        before, after = self.old[name], self.new[name]
        sets: list[str] = []
        for key in keys:
            check_entry(name, key, after[key])
            if key in before and (name, key) not in self._gone:
                sets.append(key)
            else:
                self.steps.append(Step("add", name, key, after[key]))
        self.steps.extend(Step("set", name, key, after[key]) for key in sets)


def _account(hostname_value: str) -> str | None:
    fields = hostname_value.split("|")
    return fields[1] if len(fields) > 1 else None


def _unsteady_accounts(
    old: Mapping[str, Mapping[str, str]], new: Mapping[str, Mapping[str, str]], delta: Mapping[str, _Delta]
) -> set[str]:
    """Accounts whose CDN grant at some address may change while the steps run: those that gain or lose
    a grant, and those granted on a block that a changed, added or removed CIDR points at."""
    grants, cidrs = delta[CDN_GRANT], delta[CDN_IP]
    out = {key.partition("|")[2] for key in (*grants.added, *grants.changed, *grants.removed)}
    moving = {old[CDN_IP][k] for k in (*cidrs.changed, *cidrs.removed)}
    moving |= {new[CDN_IP][k] for k in (*cidrs.added, *cidrs.changed)}
    if moving:
        for entries in (old[CDN_GRANT], new[CDN_GRANT]):
            out.update(account for block, _, account in (k.partition("|") for k in entries) if block in moving)
    return out


def plan_changes(old: MapSet, new: MapSet, keys: Mapping[str, Collection[str]] | None = None) -> list[Step]:
    """The runtime-API steps that take HAProxy's maps from `old` to `new`, in the safe order above.

    Args:
        keys: per map, the only keys that may differ (what `render.update_maps` reports; a map not named
            has none), so the plan does not compare the entries a change leaves alone; None: compare all.

    Raises:
        ValueError: an entry to send that `check_entry` refuses, or an unknown map name.
    """
    for name in (*old, *new):
        if name not in MAP_NAMES:
            raise ValueError(f"unknown map {name!r}")
    before = {name: old.get(name, {}) for name in MAP_NAMES}
    after = {name: new.get(name, {}) for name in MAP_NAMES}
    if keys is None:
        delta = {name: _Delta.of(before[name], after[name]) for name in MAP_NAMES}
    else:
        delta = {name: _Delta.of(before[name], after[name], keys.get(name, ())) for name in MAP_NAMES}
    first: dict[str, list[str]] = {}  # pointers that leave a number whose pointees change
    early: dict[str, list[str]] = {}  # pointees that go from a number pointers move to
    for pointer, pointee, of_value, of_key in _CHAINS:
        p, q = delta[pointer], delta[pointee]
        grown = {of_key(k) for k in (*q.added, *q.changed)}
        was = before[pointer]
        first[pointer] = sorted(k for k in (*p.changed, *p.removed) if of_value(was[k]) in grown) if grown else []
        entered = {of_value(after[pointer][k]) for k in (*p.added, *p.changed)}
        early[pointee] = [k for k in q.removed if of_key(k) in entered] if entered else []
    hosts = delta[HOSTNAME]
    unsteady = _unsteady_accounts(before, after, delta) if hosts.changed else set()
    in_place: list[str] = []
    moved: list[str] = []
    for key in hosts.changed:
        account = _account(after[HOSTNAME][key])
        steady = account is not None and account == _account(before[HOSTNAME][key]) and account not in unsteady
        (in_place if steady else moved).append(key)

    plan = _Plan(before, after)
    plan.delete(HOSTNAME, sorted((*hosts.removed, *moved)))  # 1
    for pointer, *_ in _CHAINS:
        plan.delete(pointer, first[pointer])
    for _, pointee, *_ in _CHAINS:  # 2
        plan.delete(pointee, early[pointee])
    for _, pointee, *_ in _CHAINS:  # 3
        plan.put(pointee, (*delta[pointee].added, *delta[pointee].changed))
    plan.put(HOSTNAME, in_place)
    for pointer, *_ in _CHAINS:  # 4
        plan.put(pointer, (*delta[pointer].added, *delta[pointer].changed))
    for pointer, *_ in _CHAINS:  # 5
        plan.delete(pointer, delta[pointer].removed)
    for _, pointee, *_ in _CHAINS:  # 6
        plan.delete(pointee, delta[pointee].removed)
    plan.put(HOSTNAME, sorted((*hosts.added, *moved)))  # 7
    return plan.steps

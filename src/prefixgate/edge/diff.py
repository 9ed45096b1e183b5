"""From the maps HAProxy holds to the maps of a new table: the runtime-API operations, in a safe order.

Two maps point into others: `spectrum_ip.map` gives a slot whose ports `spectrum_port.map` holds, and
`cdn_ip.map` gives a block that `cdn_grant.map` grants to accounts; `hostname.map` names the account a
grant is looked up for. The steps run in phases so that, while they are applied one by one, every
connection gets either its old answer or its new one, or at worst is refused, never a third answer:

1. delete the pointers (and hostnames) that must go first: hostnames that go or change, and pointers to
   a number that means something else in the new maps (a slot of another IP, a block of other
   accounts; `render_maps` given the previous maps never does that);
2. delete the pointed-at entries of such renumbered slots and blocks;
3. add and set the pointed-at entries (ports, grants), before anything points at them;
4. add and set the pointers: more specific CIDRs go in before the less specific ones they replace are
   deleted, so coverage never lapses (map_ip is longest match; map_int answers with its first match,
   and entries added at runtime come after the old ones);
5. delete the pointers that are gone, then add the new and changed hostnames (their grants and CIDRs
   are in place by now);
6. delete the pointed-at entries nothing points at any more.

`add` is for a key the map does not hold, `set` for one it holds, `del` removes a key's entries: the
runtime API's `add map`, `set map` and `del map`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from .render import CDN_GRANT, CDN_IP, HOSTNAME, MAP_NAMES, SLOT_SIZE, SPECTRUM_IP, SPECTRUM_PORT, MapSet

__all__ = ["MapDiff", "MapOp", "apply_diff", "diff_maps"]

# (pointer map, pointed-at map): the number a pointer gives, and the number a pointed-at key belongs to
_PAIRS: Final = ((SPECTRUM_IP, SPECTRUM_PORT), (CDN_IP, CDN_GRANT))


@dataclass(frozen=True, slots=True)
class MapOp:
    action: Literal["add", "set", "del"]
    map: str
    key: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class MapDiff:
    """Per map, the keys to delete and the keys to add or set; `steps` is the order to apply them in;
    `udp_apps` is the new list of UDP apps."""

    deletes: Mapping[str, tuple[str, ...]]
    sets: Mapping[str, Mapping[str, str]]
    steps: tuple[MapOp, ...]
    udp_apps: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.steps)


def _number_of(pointee: str, key: str) -> int:
    if pointee == SPECTRUM_PORT:
        return int(key.partition(":")[0]) // SLOT_SIZE
    return int(key.partition("|")[0])


def _renumbered_slots(old: MapSet, new: MapSet) -> set[int]:
    """Slots that the old maps give one IP and the new maps another."""
    before = {v: k for k, v in old.spectrum_ip.items()}
    after = {v: k for k, v in new.spectrum_ip.items()}
    return {int(slot) for slot in before.keys() & after.keys() if before[slot] != after[slot]}


def _renumbered_blocks(old: MapSet, new: MapSet) -> set[int]:
    """Blocks that old CIDRs point at and whose grants the new maps change."""
    touched = {_number_of(CDN_GRANT, k) for k in old.cdn_grant.keys() ^ new.cdn_grant.keys()}
    if not touched:
        return set()
    pointed = {int(v) for v in old.cdn_ip.values()}
    present = {_number_of(CDN_GRANT, k) for k in new.cdn_grant}
    return touched & pointed & present


def _delta(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(added, changed, removed) keys, each sorted."""
    touched = {k for k, _ in old.items() ^ new.items()}  # set operations on the items run in C
    added = sorted(k for k in touched if k not in old)
    removed = sorted(k for k in touched if k not in new)
    changed = sorted(k for k in touched if k in old and k in new)
    return added, changed, removed


def diff_maps(old: MapSet, new: MapSet) -> MapDiff:
    """The operations that turn the maps `old` into `new`, in a safe order (see the module's docs)."""
    steps: list[MapOp] = []
    gone: set[tuple[str, str]] = set()  # (map, key) deleted already
    delta = {name: _delta(old.entries(name), new.entries(name)) for name in MAP_NAMES}

    def delete(name: str, keys: list[str]) -> None:
        for key in keys:
            if (name, key) not in gone:
                gone.add((name, key))
                steps.append(MapOp("del", name, key))

    def put(name: str, keys: list[str]) -> None:
        entries = new.entries(name)
        for key in keys:
            fresh = key not in old.entries(name) or (name, key) in gone
            steps.append(MapOp("add" if fresh else "set", name, key, entries[key]))

    renumbered = {SPECTRUM_IP: _renumbered_slots(old, new), CDN_IP: _renumbered_blocks(old, new)}
    readd: dict[str, list[str]] = {}  # pointers deleted in phase 1 that the new maps hold unchanged
    added, changed, removed = delta[HOSTNAME]
    delete(HOSTNAME, changed + removed)  # 1
    for pointer, _ in _PAIRS:
        if renumbered[pointer]:
            entries = old.entries(pointer)
            first = sorted(k for k, v in entries.items() if int(v) in renumbered[pointer])
            delete(pointer, first)
            readd[pointer] = [k for k in first if new.entries(pointer).get(k) == entries[k]]
    for pointer, pointee in _PAIRS:  # 2
        if renumbered[pointer]:
            delete(pointee, [k for k in delta[pointee][2] if _number_of(pointee, k) in renumbered[pointer]])
    for _, pointee in _PAIRS:  # 3
        put(pointee, delta[pointee][0] + delta[pointee][1])
    for pointer, _ in _PAIRS:  # 4
        put(pointer, delta[pointer][0] + delta[pointer][1] + readd.get(pointer, []))
    for pointer, _ in _PAIRS:  # 5
        delete(pointer, delta[pointer][2])
    put(HOSTNAME, added + changed)
    for _, pointee in _PAIRS:  # 6
        delete(pointee, delta[pointee][2])
    deletes = {name: tuple(delta[name][2]) for name in MAP_NAMES}
    sets: dict[str, dict[str, str]] = {name: {} for name in MAP_NAMES}
    for op in steps:
        if op.value is not None:
            sets[op.map][op.key] = op.value
    return MapDiff(deletes, sets, tuple(steps), new.udp_apps)


def apply_diff(maps: MapSet, diff: MapDiff) -> MapSet:
    """The maps after `diff`'s steps (what HAProxy holds once the agent has sent them).

    Raises:
        ValueError: a step does not fit the maps (an add of a key they hold, a set or del of one they do
            not): the diff was made from other maps.
    """
    out = {name: dict(maps.entries(name)) for name in MAP_NAMES}
    for op in diff.steps:
        entries = out[op.map]
        if (op.action == "add") == (op.key in entries):
            raise ValueError(f"cannot {op.action} {op.key!r} in {op.map}")
        if op.action == "del":
            del entries[op.key]
        else:
            entries[op.key] = op.value or ""
    return MapSet.of(out, diff.udp_apps)

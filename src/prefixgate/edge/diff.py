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

from collections import defaultdict
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


def _meanings(maps: MapSet, pointer: str, pointee: str) -> dict[int, frozenset[str]]:
    """What each number stands for: the IPs pointing at a slot; the accounts a block grants."""
    out: dict[int, set[str]] = defaultdict(set)
    if pointer == SPECTRUM_IP:
        for key, value in maps.entries(pointer).items():
            out[int(value)].add(key)
    else:
        for key in maps.entries(pointee):
            out[_number_of(pointee, key)].add(key.partition("|")[2])
    return {n: frozenset(v) for n, v in out.items()}


def _renumbered(old: MapSet, new: MapSet, pointer: str, pointee: str) -> set[int]:
    before, after = _meanings(old, pointer, pointee), _meanings(new, pointer, pointee)
    return {n for n, meaning in before.items() if n in after and after[n] != meaning}


def diff_maps(old: MapSet, new: MapSet) -> MapDiff:
    """The operations that turn the maps `old` into `new`, in a safe order (see the module's docs)."""
    steps: list[MapOp] = []
    gone: set[tuple[str, str]] = set()  # (map, key) deleted already

    def delete(name: str, key: str) -> None:
        if (name, key) not in gone:
            gone.add((name, key))
            steps.append(MapOp("del", name, key))

    def put(name: str, key: str, value: str) -> None:
        before = old.entries(name)
        if key not in before or (name, key) in gone:
            steps.append(MapOp("add", name, key, value))
        elif before[key] != value:
            steps.append(MapOp("set", name, key, value))

    renumbered = {pointer: _renumbered(old, new, pointer, pointee) for pointer, pointee in _PAIRS}
    old_hosts, new_hosts = old.entries(HOSTNAME), new.entries(HOSTNAME)
    for key, value in old_hosts.items():  # 1
        if new_hosts.get(key) != value:
            delete(HOSTNAME, key)
    for pointer, _ in _PAIRS:
        for key, value in old.entries(pointer).items():
            if int(value) in renumbered[pointer]:
                delete(pointer, key)
    for pointer, pointee in _PAIRS:  # 2
        for key in old.entries(pointee):
            if _number_of(pointee, key) in renumbered[pointer] and key not in new.entries(pointee):
                delete(pointee, key)
    for _, pointee in _PAIRS:  # 3
        for key, value in new.entries(pointee).items():
            put(pointee, key, value)
    for pointer, _ in _PAIRS:  # 4
        for key, value in new.entries(pointer).items():
            put(pointer, key, value)
    for pointer, _ in _PAIRS:  # 5
        for key in old.entries(pointer):
            if key not in new.entries(pointer):
                delete(pointer, key)
    for key, value in new_hosts.items():
        put(HOSTNAME, key, value)
    for _, pointee in _PAIRS:  # 6
        for key in old.entries(pointee):
            if key not in new.entries(pointee):
                delete(pointee, key)
    deletes: dict[str, list[str]] = {name: [] for name in MAP_NAMES}
    sets: dict[str, dict[str, str]] = {name: {} for name in MAP_NAMES}
    for op in steps:
        if op.action == "del" and op.key not in new.entries(op.map):
            deletes[op.map].append(op.key)
        elif op.value is not None:
            sets[op.map][op.key] = op.value
    return MapDiff({k: tuple(v) for k, v in deletes.items()}, sets, tuple(steps), new.udp_apps)


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

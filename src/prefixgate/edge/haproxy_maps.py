"""The five HAProxy maps as data: their names, what an entry may hold, their files, and the safe order in
which a change from one set of maps to another is applied.

No HAProxy here and nothing imported from the compiler: a `MapSet` is the compiler's output shape
(map file name -> key -> value, values formatted as docs/edge.md section 3 says).

Why the order is safe. A connection is served through a chain of lookups (edge IP -> slot -> port
entry; or hostname -> account, edge IP -> block, block|account -> grant). `plan_changes` runs in three
steps: (1) delete every entry that goes away, and every changed entry of the maps whose values are
pointers (slot and block numbers, which the compiler may renumber); (2) `set` the changed entries of the
two maps that end a chain (spectrum_port.map, hostname.map); (3) add the new entries and the pointers
deleted in step 1 with their new values. After step 1 every map holds only entries the old and the new
maps agree on, plus the old values of step 2's entries, so each chain gives the old answer or nothing;
from then on every chain has at most one entry not in the new maps, so it gives the old or the new
answer. No moment serves a connection that neither the old nor the new maps serve.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

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

SPECTRUM_IP: Final = "spectrum_ip.map"
SPECTRUM_PORT: Final = "spectrum_port.map"
CDN_IP: Final = "cdn_ip.map"
CDN_GRANT: Final = "cdn_grant.map"
HOSTNAME: Final = "hostname.map"
MAP_NAMES: Final = (SPECTRUM_IP, SPECTRUM_PORT, CDN_IP, CDN_GRANT, HOSTNAME)

# Maps whose values other lookups use as keys: a changed value is deleted first and added last.
_POINTER_MAPS: Final = frozenset({SPECTRUM_IP, CDN_IP, CDN_GRANT})

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


def plan_changes(old: MapSet, new: MapSet) -> list[Step]:
    """The runtime-API steps that take HAProxy's maps from `old` to `new`, in the safe order above.

    Raises:
        ValueError: an entry of `new` that `check_entry` refuses, or an unknown map name.
    """
    _checked(new)
    for name in old:
        if name not in MAP_NAMES:
            raise ValueError(f"unknown map {name!r}")
    deletes: list[Step] = []
    sets: list[Step] = []
    adds: list[Step] = []
    for name in MAP_NAMES:
        before = old.get(name, {})
        after = new.get(name, {})
        for key in sorted(before):
            if key not in after:
                deletes.append(Step("del", name, key))
        for key in sorted(after):
            value = after[key]
            if key not in before:
                adds.append(Step("add", name, key, value))
            elif before[key] != value:
                if name in _POINTER_MAPS:
                    deletes.append(Step("del", name, key))
                    adds.append(Step("add", name, key, value))
                else:
                    sets.append(Step("set", name, key, value))
    return deletes + sets + adds

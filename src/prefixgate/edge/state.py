"""The serving state the control plane sends its edges: what a snapshot holds and a change updates.

Pure: stdlib only, no I/O. The control plane builds an `EdgeState` from its database
(adapters/db/repos/edge.py), encodes it with `encode_snapshot`, and the edge decodes it with
`decode_snapshot`, which refuses a body whose checksum does not match. `apply_changes` brings a state
forward with the rows of a change-feed answer.

The wire format is compact JSON: each kind of row is a list of arrays in a fixed field order
(`FORMAT` names the version), sorted by id, so the same state always encodes to the same bytes and
the same checksum.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from ..domain.net import IPAddress, IPNetwork

__all__ = [
    "FORMAT",
    "KINDS",
    "AppRow",
    "BindingRow",
    "Change",
    "CorruptSnapshot",
    "DelegationRow",
    "EdgeState",
    "FallbackOriginRow",
    "HostnameRow",
    "PrefixRow",
    "Row",
    "Touched",
    "ZoneRow",
    "address_from_text",
    "apply_changes",
    "apply_changes_touched",
    "decode_change",
    "decode_snapshot",
    "encode_change",
    "encode_snapshot",
    "network_from_text",
    "state_checksum",
]

FORMAT: Final = "prefixgate.edge/1"


class CorruptSnapshot(ValueError):
    """A snapshot or change whose bytes do not decode, or whose checksum does not match."""


@dataclass(frozen=True, slots=True)
class PrefixRow:
    id: str
    account_id: str
    cidr: IPNetwork
    approved: bool


@dataclass(frozen=True, slots=True)
class DelegationRow:
    id: str
    prefix_id: str
    cidr: IPNetwork
    delegated_account_id: str


@dataclass(frozen=True, slots=True)
class BindingRow:
    id: str
    prefix_id: str
    cidr: IPNetwork
    service_id: str


@dataclass(frozen=True, slots=True)
class ZoneRow:
    id: str
    account_id: str
    paused: bool


@dataclass(frozen=True, slots=True)
class AppRow:
    """A Spectrum app, active or blocked. `protocol` is "tcp/22" or "tcp/1000-2000"; `origin_port` is
    the app's origin_port text ("22", "1000-2000") or None; `modified_on` orders apps that claim the
    same port (the active claim first, then the newest), as the database's `app_at` does."""

    id: str
    zone_id: str
    account_id: str
    protocol: str
    edge_ips: tuple[IPAddress, ...]
    origin_direct: tuple[str, ...]
    origin_dns_name: str | None
    origin_port: str | None
    proxy_protocol: str
    traffic_type: str
    status: str  # "active" | "blocked"
    modified_on: datetime


@dataclass(frozen=True, slots=True)
class HostnameRow:
    """An *active* custom hostname (pending ones serve nothing and are not in the state)."""

    id: str
    zone_id: str
    account_id: str
    hostname: str
    custom_origin_server: str | None


@dataclass(frozen=True, slots=True)
class FallbackOriginRow:
    zone_id: str
    origin: str


Row = PrefixRow | DelegationRow | BindingRow | ZoneRow | AppRow | HostnameRow | FallbackOriginRow

KINDS: Final = ("prefix", "delegation", "binding", "zone", "app", "hostname", "fallback_origin")


@dataclass(frozen=True, slots=True)
class EdgeState:
    """Everything that decides serving, at one revision. Rows are keyed by id (fallback origins by
    zone id)."""

    revision: int = 0
    prefixes: Mapping[str, PrefixRow] = field(default_factory=dict)
    delegations: Mapping[str, DelegationRow] = field(default_factory=dict)
    bindings: Mapping[str, BindingRow] = field(default_factory=dict)
    zones: Mapping[str, ZoneRow] = field(default_factory=dict)
    apps: Mapping[str, AppRow] = field(default_factory=dict)
    hostnames: Mapping[str, HostnameRow] = field(default_factory=dict)
    fallback_origins: Mapping[str, FallbackOriginRow] = field(default_factory=dict)

    @classmethod
    def of(cls, revision: int, rows: Iterable[Row]) -> EdgeState:
        tables: dict[str, dict[str, Row]] = {k: {} for k in KINDS}
        for row in rows:
            tables[_kind_of(row)][_key_of(row)] = row
        return cls(revision, *(tables[k] for k in KINDS))  # type: ignore[arg-type]

    def table(self, kind: str) -> Mapping[str, Row]:
        return getattr(self, _ATTR[kind])  # type: ignore[no-any-return]


_ATTR: Final = {
    "prefix": "prefixes",
    "delegation": "delegations",
    "binding": "bindings",
    "zone": "zones",
    "app": "apps",
    "hostname": "hostnames",
    "fallback_origin": "fallback_origins",
}
_CLASS_KIND: Final[dict[type, str]] = {
    PrefixRow: "prefix",
    DelegationRow: "delegation",
    BindingRow: "binding",
    ZoneRow: "zone",
    AppRow: "app",
    HostnameRow: "hostname",
    FallbackOriginRow: "fallback_origin",
}


def _kind_of(row: Row) -> str:
    return _CLASS_KIND[type(row)]


def _key_of(row: Row) -> str:
    return row.zone_id if isinstance(row, FallbackOriginRow) else row.id


@dataclass(frozen=True, slots=True)
class Change:
    """One entity as it stands at `revision`: `row` is its new value, or None when it is gone."""

    revision: int
    kind: str
    id: str
    row: Row | None


def apply_changes(state: EdgeState, revision: int, changes: Sequence[Change]) -> EdgeState:
    """The state after `changes`, at `revision`. Removing a prefix removes its delegations and bindings;
    removing a zone removes its apps, hostnames and fallback origin (the database cascades the same)."""
    return apply_changes_touched(state, revision, changes)[0]


Touched = dict[str, set[str]]  # kind -> the ids whose row may differ between two states


def apply_changes_touched(state: EdgeState, revision: int, changes: Sequence[Change]) -> tuple[EdgeState, Touched]:
    """`apply_changes`, and the ids each kind's rows may have changed at: those the changes name and the
    children a removal cascaded to. What `update_table` needs to recompile only what changed."""
    for ch in changes:
        if ch.kind not in KINDS:
            raise CorruptSnapshot(f"unknown kind {ch.kind!r} in a change")
    copied = {ch.kind for ch in changes}  # only the kinds that change are copied (the rest are shared)
    for ch in changes:
        if ch.row is None:
            copied.update(_CHILDREN.get(ch.kind, ()))
    tables = {k: dict(state.table(k)) if k in copied else state.table(k) for k in KINDS}
    touched: Touched = {k: set() for k in KINDS}
    for ch in changes:
        touched[ch.kind].add(ch.id)
        if ch.row is None:
            tables[ch.kind].pop(ch.id, None)  # type: ignore[attr-defined]
            if ch.kind in _CHILDREN:
                _drop_children(tables, touched, _CHILDREN[ch.kind], _PARENT[ch.kind], ch.id)  # type: ignore[arg-type]
        else:
            tables[ch.kind][ch.id] = ch.row  # type: ignore[index]
    return EdgeState(revision, *(tables[k] for k in KINDS)), touched  # type: ignore[arg-type]


_CHILDREN: Final = {"prefix": ("delegation", "binding"), "zone": ("app", "hostname", "fallback_origin")}
_PARENT: Final = {"prefix": "prefix_id", "zone": "zone_id"}


def _drop_children(
    tables: dict[str, dict[str, Row]], touched: Touched, kinds: tuple[str, ...], attr: str, parent: str
) -> None:
    for kind in kinds:
        table = tables[kind]
        for key in [k for k, row in table.items() if getattr(row, attr) == parent]:
            del table[key]
            touched[kind].add(key)


# ---- wire codec -------------------------------------------------------------------------------------


def address_from_text(text: str) -> IPAddress:
    """An address from text this program wrote (a stored row, a snapshot): inet_pton and the integer
    constructors, two to three times as fast as `ipaddress.ip_address`, which tries IPv4 first and parses
    in Python. Stricter than it: no scope id (`%eth0`).

    Raises:
        ValueError: not the text of an address.
    """
    try:
        if ":" in text:
            return ipaddress.IPv6Address(int.from_bytes(socket.inet_pton(socket.AF_INET6, text)))
        return ipaddress.IPv4Address(int.from_bytes(socket.inet_pton(socket.AF_INET, text)))
    except OSError:
        raise ValueError(f"{text!r} is not an IP address") from None


def network_from_text(text: str) -> IPNetwork:
    """A network from text this program wrote, as `address_from_text` reads an address. Like
    `ipaddress.ip_network` it refuses host bits set; unlike it, it requires the prefix length.

    Raises:
        ValueError: not the text of a network.
    """
    addr, slash, length = text.partition("/")
    if not (slash and length.isascii() and length.isdigit()):
        raise ValueError(f"{text!r} is not a network with a prefix length")
    ip = address_from_text(addr)
    if ip.version == 4:
        return ipaddress.IPv4Network((int(ip), int(length)))
    return ipaddress.IPv6Network((int(ip), int(length)))


_ip = address_from_text
_net = network_from_text


def _address_text(address: IPAddress) -> str:
    """`str(address)`, written by the C library's inet_ntop (`ipaddress` spends most of a snapshot's
    encoding time on it). In ::/96 and ::ffff:0:0/96 inet_ntop writes a dotted quad where `ipaddress`
    (depending on the Python version) may not, so those stay with `str`."""
    if address.version == 4:
        return socket.inet_ntoa(address.packed)
    if int(address) >> 32 in (0, 0xFFFF):
        return str(address)
    return socket.inet_ntop(socket.AF_INET6, address.packed)


def _network_text(network: IPNetwork) -> str:
    """`str(network)`, as `_address_text` writes its address."""
    return f"{_address_text(network.network_address)}/{network.prefixlen}"


def _encode_row(row: Row) -> list[object]:
    if isinstance(row, DelegationRow):  # the most numerous first
        return [row.id, row.prefix_id, _network_text(row.cidr), row.delegated_account_id]
    if isinstance(row, PrefixRow):
        return [row.id, row.account_id, _network_text(row.cidr), row.approved]
    if isinstance(row, BindingRow):
        return [row.id, row.prefix_id, _network_text(row.cidr), row.service_id]
    if isinstance(row, ZoneRow):
        return [row.id, row.account_id, row.paused]
    if isinstance(row, AppRow):
        return [
            row.id,
            row.zone_id,
            row.account_id,
            row.protocol,
            [_address_text(ip) for ip in row.edge_ips],
            list(row.origin_direct),
            row.origin_dns_name,
            row.origin_port,
            row.proxy_protocol,
            row.traffic_type,
            row.status,
            row.modified_on.isoformat(),
        ]
    if isinstance(row, HostnameRow):
        return [row.id, row.zone_id, row.account_id, row.hostname, row.custom_origin_server]
    return [row.zone_id, row.origin]


def _decode_row(kind: str, v: Sequence[object]) -> Row:
    s = [x if isinstance(x, str) else None for x in v]
    if kind == "prefix":
        return PrefixRow(_s(s[0]), _s(s[1]), _net(_s(s[2])), _b(v[3]))
    if kind == "delegation":
        return DelegationRow(_s(s[0]), _s(s[1]), _net(_s(s[2])), _s(s[3]))
    if kind == "binding":
        return BindingRow(_s(s[0]), _s(s[1]), _net(_s(s[2])), _s(s[3]))
    if kind == "zone":
        return ZoneRow(_s(s[0]), _s(s[1]), _b(v[2]))
    if kind == "app":
        return AppRow(
            _s(s[0]),
            _s(s[1]),
            _s(s[2]),
            _s(s[3]),
            tuple(_ip(_s(x)) for x in _list(v[4])),
            tuple(_s(x) for x in _list(v[5])),
            s[6],
            s[7],
            _s(s[8]),
            _s(s[9]),
            _s(s[10]),
            datetime.fromisoformat(_s(s[11])),
        )
    if kind == "hostname":
        return HostnameRow(_s(s[0]), _s(s[1]), _s(s[2]), _s(s[3]), s[4])
    if kind == "fallback_origin":
        return FallbackOriginRow(_s(s[0]), _s(s[1]))
    raise CorruptSnapshot(f"unknown kind {kind!r}")


def _s(x: object) -> str:
    if not isinstance(x, str):
        raise CorruptSnapshot(f"expected text, found {x!r}")
    return x


def _b(x: object) -> bool:
    if not isinstance(x, bool):
        raise CorruptSnapshot(f"expected true or false, found {x!r}")
    return x


def _list(x: object) -> list[object]:
    if not isinstance(x, list):
        raise CorruptSnapshot(f"expected a list, found {x!r}")
    return x


def _canonical(revision: int, tables: Mapping[str, list[list[object]]]) -> bytes:
    return json.dumps({"revision": revision, "state": tables}, separators=(",", ":"), sort_keys=True).encode()


def _tables(state: EdgeState) -> dict[str, list[list[object]]]:
    out: dict[str, list[list[object]]] = {}
    for kind in KINDS:
        rows = state.table(kind)
        out[kind] = [_encode_row(rows[key]) for key in sorted(rows)]
    return out


def state_checksum(state: EdgeState) -> str:
    """ "sha256:<hex>" over the canonical encoding of the state and its revision."""
    return "sha256:" + hashlib.sha256(_canonical(state.revision, _tables(state))).hexdigest()


def encode_snapshot(state: EdgeState) -> dict[str, object]:
    """The snapshot document: {"format", "revision", "checksum", "state": {kind: [row arrays]}}."""
    tables = _tables(state)
    checksum = "sha256:" + hashlib.sha256(_canonical(state.revision, tables)).hexdigest()
    return {"format": FORMAT, "revision": state.revision, "checksum": checksum, "state": tables}


def decode_snapshot(doc: object) -> EdgeState:
    """Parse a snapshot document.

    Raises:
        CorruptSnapshot: not a snapshot of this format, a malformed row, or a checksum that does not
            match the rows (the snapshot was damaged or tampered with).
    """
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CorruptSnapshot(f"not a {FORMAT} snapshot")
    revision, checksum, tables = doc.get("revision"), doc.get("checksum"), doc.get("state")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        raise CorruptSnapshot("the snapshot's revision is not a whole number")
    if not isinstance(tables, dict) or set(tables) != set(KINDS):
        raise CorruptSnapshot(f"the snapshot's state must hold exactly {', '.join(KINDS)}")
    if checksum != "sha256:" + hashlib.sha256(_canonical(revision, tables)).hexdigest():
        raise CorruptSnapshot("the snapshot's checksum does not match its contents")
    try:
        rows = [_decode_row(kind, _list(v)) for kind in KINDS for v in _list(tables[kind])]
    except (ValueError, IndexError, TypeError) as e:
        raise CorruptSnapshot(f"a malformed row: {e}") from None
    return EdgeState.of(revision, rows)


def encode_change(change: Change) -> dict[str, object]:
    """{"revision", "kind", "id", "row": [fields] | null}."""
    row = None if change.row is None else _encode_row(change.row)
    return {"revision": change.revision, "kind": change.kind, "id": change.id, "row": row}


def decode_change(doc: object) -> Change:
    """Raises CorruptSnapshot for anything but a change of a known kind."""
    if not isinstance(doc, dict):
        raise CorruptSnapshot("a change must be an object")
    revision, kind, key, row = doc.get("revision"), doc.get("kind"), doc.get("id"), doc.get("row")
    if not isinstance(revision, int) or not isinstance(kind, str) or kind not in KINDS or not isinstance(key, str):
        raise CorruptSnapshot("a change needs a revision, a known kind and an id")
    try:
        decoded = None if row is None else _decode_row(kind, _list(row))
    except (ValueError, IndexError, TypeError) as e:
        raise CorruptSnapshot(f"a malformed row: {e}") from None
    if decoded is not None and _key_of(decoded) != key:
        raise CorruptSnapshot(f"change {key} carries the row of {_key_of(decoded)}")
    return Change(revision, kind, key, decoded)


def with_revision(state: EdgeState, revision: int) -> EdgeState:
    return replace(state, revision=revision)

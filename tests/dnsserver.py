"""LoopbackDns: a real authoritative DNS server on loopback (UDP and TCP) for tests.

Built from dnspython's message and rdata classes; clients talk to it over real sockets. It answers
like an authoritative server: NXDOMAIN for names it does not know, NODATA for a known name without
the asked type, a CNAME for any type asked at a CNAME's name (and, with `whole_chains`, the chain's
further records in the same answer, as recursive resolvers give them). Answers too big for the
client's UDP size are truncated (TC), so clients retry over TCP. Modes make it fail on purpose.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from types import TracebackType
from typing import Literal, Self, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

__all__ = ["LoopbackDns", "Query"]

Mode = Literal["servfail", "refuse", "drop", "truncate"]
Value = str | tuple[str, ...] | IPv4Address | IPv6Address
_TYPES = ("A", "AAAA", "CNAME", "TXT")
_MAX_CHASE = 16  # a looping chain stops being chased after this many steps


@dataclass(frozen=True, slots=True)
class Query:
    name: str  # lower case, no trailing dot
    rtype: str  # "A", "TXT", ...
    transport: Literal["udp", "tcp"]


def _key(name: str | dns.name.Name) -> str:
    parsed = dns.name.from_text(name) if isinstance(name, str) else name
    return "." if parsed == dns.name.root else parsed.to_text(omit_final_dot=True).lower()


def _rtype(rtype: str) -> str:
    upper = rtype.upper()
    if upper not in _TYPES:
        raise ValueError(f"LoopbackDns serves {', '.join(_TYPES)} records, not {rtype!r}")
    return upper


def _rdata(rtype: str, value: Value) -> dns.rdata.Rdata:
    IN = dns.rdataclass.IN
    if rtype in ("A", "AAAA"):
        ip = ip_address(value) if isinstance(value, str | IPv4Address | IPv6Address) else None
        if ip is None or (ip.version == 4) != (rtype == "A"):
            raise ValueError(f"{value!r} is not an {'IPv4' if rtype == 'A' else 'IPv6'} address")
        return dns.rdata.from_text(IN, rtype, str(ip))
    if rtype == "CNAME":
        if not isinstance(value, str):
            raise ValueError(f"a CNAME target is a name, not {value!r}")
        return dns.rdata.from_text(IN, dns.rdatatype.CNAME, dns.name.from_text(value).to_text())
    strings = (value,) if isinstance(value, str) else value
    if not isinstance(strings, tuple) or not all(isinstance(s, str) for s in strings):
        raise ValueError(f"a TXT record is a string or a tuple of strings, not {value!r}")
    return dns.rdtypes.ANY.TXT.TXT(IN, dns.rdatatype.TXT, [s.encode() for s in strings])


class LoopbackDns:
    """A DNS server on `host` (127.0.0.1) and a free port (or `port`), UDP and TCP, in one thread.

    Use as a context manager, or start() and stop(). Every method is safe from any thread.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, whole_chains: bool = False) -> None:
        self._host = host
        self._requested_port = port
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, tuple[int, list[dns.rdata.Rdata]]]] = {}
        self._modes: dict[str | None, Mode] = {}
        self._log: list[Query] = []
        self._whole_chains = whole_chains
        self._thread: threading.Thread | None = None
        self._sockets: list[socket.socket] = []
        self._port = 0

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        if not self._port:
            raise RuntimeError("LoopbackDns is not started")
        return self._host, self._port

    @property
    def spec(self) -> str:
        host, port = self.address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("LoopbackDns is already started")
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        for _ in range(20):  # the free TCP port may be taken for UDP: then try another
            tcp = socket.socket(family, socket.SOCK_STREAM)
            udp = socket.socket(family, socket.SOCK_DGRAM)
            try:
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind((self._host, self._requested_port))
                port = int(tcp.getsockname()[1])
                udp.bind((self._host, port))
                tcp.listen(64)
                break
            except OSError:
                tcp.close()
                udp.close()
                if self._requested_port:
                    raise
        else:
            raise RuntimeError("no free port for both UDP and TCP")
        wake_r, wake_w = socket.socketpair()
        self._sockets = [udp, tcp, wake_r, wake_w]
        self._port = port
        self._thread = threading.Thread(target=self._serve, args=(udp, tcp, wake_r), name=f"dns-{port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._sockets[3].send(b"x")
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError("the LoopbackDns thread did not stop")
        for s in self._sockets:
            s.close()
        self._thread, self._sockets = None, []

    def __enter__(self) -> Self:
        """Start (unless start() already did); leaving the block stops it."""
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    # --- zone data ---------------------------------------------------------------------------

    def set(self, name: str, rtype: str, *values: Value, ttl: int = 60) -> None:
        """Replace the `rtype` records at `name` with `values` (TXT: a str, or a tuple of strings for one
        record of several strings). A CNAME has one target and no other records beside it."""
        key, kind = _key(name), _rtype(rtype)
        if not values:
            raise ValueError("set() needs at least one value; use delete() to remove records")
        if kind == "CNAME" and len(values) != 1:
            raise ValueError("a name has at most one CNAME")
        rdatas = [_rdata(kind, v) for v in values]
        with self._lock:
            node = self._records.setdefault(key, {})
            others = set(node) - {kind}
            if others and (kind == "CNAME" or "CNAME" in others):
                raise ValueError(f"{key} cannot have a CNAME and other records ({', '.join(sorted(others))})")
            node[kind] = (ttl, rdatas)

    def delete(self, name: str, rtype: str | None = None) -> None:
        """Remove `name`'s records of `rtype`, or all of them (the name then answers NXDOMAIN)."""
        key = _key(name)
        with self._lock:
            node = self._records.get(key, {})
            if rtype is None:
                node.clear()
            else:
                node.pop(_rtype(rtype), None)
            if not node:
                self._records.pop(key, None)

    def answer_whole_chains(self, on: bool = True) -> None:
        """With `on`, an answer at a CNAME also carries the chain's further CNAMEs and final records."""
        with self._lock:
            self._whole_chains = on

    # --- failure modes -----------------------------------------------------------------------

    def servfail(self, name: str | None = None) -> None:
        """Answer SERVFAIL for `name` (every name when None)."""
        self._set_mode(name, "servfail")

    def refuse(self, name: str | None = None) -> None:
        """Answer REFUSED for `name` (every name when None)."""
        self._set_mode(name, "refuse")

    def drop(self, name: str | None = None) -> None:
        """Never answer for `name` (every name when None): clients time out."""
        self._set_mode(name, "drop")

    def truncate(self, name: str | None = None) -> None:
        """Answer over UDP with an empty truncated (TC) message, so clients must retry over TCP."""
        self._set_mode(name, "truncate")

    def heal(self, name: str | None = None) -> None:
        """Answer normally again: for `name`, or (None) for every name and globally."""
        with self._lock:
            if name is None:
                self._modes.clear()
            else:
                self._modes.pop(_key(name), None)

    def _set_mode(self, name: str | None, mode: Mode) -> None:
        with self._lock:
            self._modes[None if name is None else _key(name)] = mode

    # --- query log ---------------------------------------------------------------------------

    def queries(
        self, name: str | None = None, rtype: str | None = None, *, transport: str | None = None
    ) -> list[tuple[str, str]]:
        """The questions received, oldest first, as (name, type), optionally only those matching."""
        key = None if name is None else _key(name)
        kind = None if rtype is None else rtype.upper()
        with self._lock:
            return [
                (q.name, q.rtype)
                for q in self._log
                if (key is None or q.name == key)
                and (kind is None or q.rtype == kind)
                and (transport is None or q.transport == transport)
            ]

    def count(self, name: str, rtype: str | None = None) -> int:
        return len(self.queries(name, rtype))

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    # --- serving -----------------------------------------------------------------------------

    def _serve(self, udp: socket.socket, tcp: socket.socket, wake: socket.socket) -> None:
        buffers: dict[socket.socket, bytearray] = {}
        with selectors.DefaultSelector() as sel:
            sel.register(udp, selectors.EVENT_READ, "udp")
            sel.register(tcp, selectors.EVENT_READ, "accept")
            sel.register(wake, selectors.EVENT_READ, "wake")
            try:
                while True:
                    for key, _ in sel.select():
                        if key.data == "wake":
                            return
                        if key.data == "udp":
                            self._serve_udp(udp)
                        elif key.data == "accept":
                            conn, _ = tcp.accept()
                            conn.settimeout(5)
                            buffers[conn] = bytearray()
                            sel.register(conn, selectors.EVENT_READ, "tcp")
                        else:
                            conn = cast(socket.socket, key.fileobj)
                            if not self._serve_tcp(conn, buffers[conn]):
                                sel.unregister(conn)
                                del buffers[conn]
                                conn.close()
            finally:
                for conn in buffers:
                    conn.close()

    def _serve_udp(self, udp: socket.socket) -> None:
        try:
            wire, peer = udp.recvfrom(65535)
        except OSError:
            return
        reply = self._reply(wire, "udp")
        if reply is not None:
            with contextlib.suppress(OSError):  # the client may be gone
                udp.sendto(reply, peer)

    def _serve_tcp(self, conn: socket.socket, buffer: bytearray) -> bool:
        """Read what arrived; answer each complete message. False when the client is gone."""
        try:
            data = conn.recv(65535)
        except OSError:
            return False
        if not data:
            return False
        buffer += data
        while len(buffer) >= 2 and len(buffer) >= 2 + int.from_bytes(buffer[:2], "big"):
            size = int.from_bytes(buffer[:2], "big")
            wire = bytes(buffer[2 : 2 + size])
            del buffer[: 2 + size]
            reply = self._reply(wire, "tcp")
            if reply is not None:
                try:
                    conn.sendall(len(reply).to_bytes(2, "big") + reply)
                except OSError:
                    return False
        return True

    def _reply(self, wire: bytes, transport: Literal["udp", "tcp"]) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not DNS: real servers drop it too
        if len(query.question) != 1:
            return None
        question = query.question[0]
        name = _key(question.name)
        rtype = dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self._log.append(Query(name, rtype, transport))
            mode = self._modes.get(name) or self._modes.get(None)
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            if mode == "drop":
                return None
            if mode == "servfail":
                response.set_rcode(dns.rcode.SERVFAIL)
            elif mode == "refuse":
                response.set_rcode(dns.rcode.REFUSED)
            elif mode == "truncate" and transport == "udp":
                response.flags |= dns.flags.TC
            else:
                self._answer(response, question.name, question.rdtype)
        limit = 65535 if transport == "tcp" else max(query.payload, 512) if query.edns >= 0 else 512
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.AA | dns.flags.TC
            return truncated.to_wire()

    def _answer(self, response: dns.message.Message, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> None:
        """Fill in the answer section (the lock is held)."""
        asked = dns.rdatatype.to_text(qtype)
        current, seen = qname, set[str]()
        while True:
            key = _key(current)
            node = self._records.get(key)
            if node is None:
                if not any(k.endswith(f".{key}") for k in self._records):  # not an empty non-terminal either
                    response.set_rcode(dns.rcode.NXDOMAIN)
                return
            cname = node.get("CNAME")
            if cname is not None and asked != "CNAME":
                response.answer.append(_rrset(current, cname))
                seen.add(key)
                target: dns.name.Name = cname[1][0].target  # type: ignore[attr-defined]
                if not self._whole_chains or _key(target) in seen or len(seen) >= _MAX_CHASE:
                    return
                current = target
                continue
            if asked in node:
                response.answer.append(_rrset(current, node[asked]))
            return


def _rrset(name: dns.name.Name, records: tuple[int, Sequence[dns.rdata.Rdata]]) -> dns.rrset.RRset:
    ttl, rdatas = records
    return dns.rrset.from_rdata_list(name, ttl, list(rdatas))

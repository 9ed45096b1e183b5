"""Origin names resolved for the data plane (`--dns-server`): Spectrum `origin_dns`, custom origin
servers and fallback origins. HAProxy is given addresses, never names."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import dns.exception
import dns.name
import dns.rdatatype

from ..adapters.dns.lookup import Lookup, LookupFailed
from ..adapters.dns.servers import DnsServer
from ..domain.net import IPAddress

__all__ = ["OriginNames"]


class OriginNames:
    """A cache of name → first address (A, else AAAA), each answer kept for `ttl_s`.

    A name that does not resolve maps to None (the table then refuses its traffic as
    `origin_unresolved`), and is asked again after `retry_s`.
    """

    def __init__(
        self,
        servers: Sequence[DnsServer],
        *,
        timeout_s: float = 2.0,
        ttl_s: float = 30.0,
        retry_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = Lookup(servers, timeout_s)
        self._ttl_s, self._retry_s, self._clock = ttl_s, retry_s, clock
        self._cache: dict[str, tuple[IPAddress | None, float]] = {}

    def resolve(self, names: Iterable[str]) -> tuple[Mapping[str, IPAddress | None], bool]:
        """The addresses of `names`, and whether any answer differs from the one cached before."""
        now = self._clock()
        changed = False
        out: dict[str, IPAddress | None] = {}
        for name in sorted(set(names)):
            cached = self._cache.get(name)
            if cached is not None and cached[1] > now:
                out[name] = cached[0]
                continue
            address = self._ask(name)
            self._cache[name] = (address, now + (self._ttl_s if address is not None else self._retry_s))
            changed = changed or cached is None or cached[0] != address
            out[name] = address
        for gone in set(self._cache) - set(out):
            del self._cache[gone]
        return out, changed

    def _ask(self, name: str) -> IPAddress | None:
        try:
            literal = ipaddress.ip_address(name)
        except ValueError:
            pass
        else:
            return literal
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:
            return None
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            try:
                _, records = self._lookup.follow(qname, rdtype)
            except LookupFailed:
                return None
            if records:
                return ipaddress.ip_address(records[0].to_text())
        return None

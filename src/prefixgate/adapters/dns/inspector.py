"""DnsInspector: gathers the DnsAnswer that the validation decision (domain.hostnames.decide) needs."""

from __future__ import annotations

import os
from ipaddress import ip_address
from typing import Final

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype

from prefixgate.domain.hostnames import DnsAnswer, ownership_record_name
from prefixgate.domain.net import IPAddress

from .http_check import token_served
from .lookup import Lookup, LookupFailed, name_text, system_nameservers
from .servers import DnsServer

__all__ = ["SYSTEM_RESOLV_CONF", "DnsInspector"]

SYSTEM_RESOLV_CONF: Final = "/etc/resolv.conf"


class DnsInspector:
    """Looks a custom hostname up in DNS (and, if asked, at its HTTP challenge URL).

    It keeps no state between calls, so one instance serves any number of threads.

    Args:
        server: send every query to exactly this (address, port), over UDP with TCP on truncation;
            None: the nameservers of `resolv_conf`, read at each inspection, tried in turn.
        timeout_s: how long one query waits for one nameserver (UDP, then TCP if truncated), and how
            long one HTTP exchange may take in all.
        http_port: the port of the HTTP check (80; other values are for labs and tests).
        allow_non_global_http: lab flag: let the HTTP check connect to loopback, private and other
            non-global addresses. Off, such addresses are never connected to.
        resolv_conf: the resolver configuration used when `server` is None.

    Raises:
        ValueError: a timeout that is not positive, or a port out of range.
    """

    def __init__(
        self,
        server: DnsServer | None,
        timeout_s: float,
        http_port: int = 80,
        allow_non_global_http: bool = False,
        *,
        resolv_conf: str | os.PathLike[str] = SYSTEM_RESOLV_CONF,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"the DNS timeout must be a positive number of seconds, not {timeout_s!r}")
        if not 1 <= http_port <= 65535:
            raise ValueError(f"the HTTP validation port must be from 1 to 65535, not {http_port!r}")
        if server is not None:
            ip_address(server[0])  # an address, not a name: refuse it now rather than at each lookup
            if not 1 <= server[1] <= 65535:
                raise ValueError(f"the DNS server port must be from 1 to 65535, not {server[1]!r}")
        self.server: Final = server
        self.timeout_s: Final = timeout_s
        self.http_port: Final = http_port
        self.allow_non_global_http: Final = allow_non_global_http
        self.resolv_conf: Final = resolv_conf

    def inspect(self, hostname: str, *, hostname_id: str, token: str, check_http: bool) -> DnsAnswer:
        """What DNS says about `hostname` now.

        Args:
            hostname: a parsed custom hostname (ASCII, no trailing dot).
            hostname_id: the custom hostname's id, the last segment of the HTTP challenge path.
            token: the ownership token, looked for at the HTTP challenge path.
            check_http: try the HTTP challenge when the TXT records do not hold the token.

        Returns:
            The TXT strings at `_cf-custom-hostname.<hostname>`, the CNAME chain of `hostname`, the A
            and AAAA records of its last name, and whether HTTP served the token; or, when any query
            got no usable answer, only `failure` saying which and why.

        Raises:
            ValueError: `hostname` is not a DNS name (the caller parses hostnames first).
        """
        try:
            host = dns.name.from_text(hostname)
        except dns.exception.DNSException as exc:
            raise ValueError(f"{hostname!r} is not a DNS name: {exc}") from None
        if host == dns.name.root:
            raise ValueError(f"{hostname!r} is not a DNS name: it is empty")
        try:
            lookup = Lookup([self.server] if self.server else system_nameservers(self.resolv_conf), self.timeout_s)
            txt = _txt(lookup, hostname)
            chain, a_records = lookup.follow(host, dns.rdatatype.A)
            last = chain[-1] if chain else host
            aaaa = lookup.ask(last, dns.rdatatype.AAAA)
        except LookupFailed as exc:
            return DnsAnswer(failure=str(exc))
        aaaa_records = aaaa.get_rrset(aaaa.answer, last, dns.rdataclass.IN, dns.rdatatype.AAAA) or ()
        found = {ip_address(r.address) for r in (*a_records, *aaaa_records)}
        addresses: tuple[IPAddress, ...] = tuple(sorted(found, key=lambda ip: (ip.version, ip.packed)))
        served = (
            check_http
            and token not in txt
            and token_served(
                hostname,
                hostname_id,
                token,
                addresses,
                port=self.http_port,
                timeout_s=self.timeout_s,
                allow_non_global=self.allow_non_global_http,
            )
        )
        return DnsAnswer(
            txt=txt, cname_chain=tuple(name_text(n) for n in chain), addresses=addresses, http_token_found=served
        )


def _txt(lookup: Lookup, hostname: str) -> tuple[str, ...]:
    """The TXT records at the ownership name, each record's strings joined, sorted (CNAMEs followed)."""
    try:
        name = dns.name.from_text(ownership_record_name(hostname))
    except dns.exception.DNSException:
        return ()  # a hostname near the length limit: no name, so no record, can carry the token
    _, records = lookup.follow(name, dns.rdatatype.TXT)
    # An RRset has no order: sorting makes equal answers compare equal.
    return tuple(sorted(b"".join(r.strings).decode("utf-8", "replace") for r in records))  # type: ignore[attr-defined]

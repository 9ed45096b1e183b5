"""DNS queries one at a time, with timeouts, to a given server or to the system's nameservers.

Each CNAME step is its own query (whatever else a server put in its answer), so every step of a
chain is asked for and checked, and loops and overlong chains are caught here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from ipaddress import ip_address
from typing import Final

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from .servers import DnsServer, format_dns_server

__all__ = ["MAX_CNAME_DEPTH", "Lookup", "LookupFailed", "name_text", "system_nameservers"]

MAX_CNAME_DEPTH: Final = 8
_EDNS_PAYLOAD: Final = 1232  # the DNS flag day's safe UDP size; bigger answers come over TCP


class LookupFailed(Exception):
    """DNS gave no usable answer; the message says what failed, and where."""


def name_text(name: dns.name.Name) -> str:
    """A name as the domain layer writes it: lower case, no trailing dot."""
    return "." if name == dns.name.root else name.to_text(omit_final_dot=True).lower()


def system_nameservers(resolv_conf: str | os.PathLike[str]) -> list[DnsServer]:
    """The nameservers of a resolv.conf, read now (so edits apply to the next lookup).

    Raises:
        LookupFailed: the file is missing or unreadable, or names no usable nameserver.
    """
    try:
        config = dns.resolver.Resolver(filename=os.fspath(resolv_conf), configure=True)
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        raise LookupFailed(f"no system DNS resolver: {os.fspath(resolv_conf)}: {exc}") from None
    servers: list[DnsServer] = []
    for entry in config.nameservers:
        try:  # resolv.conf gives addresses as strings; anything else (DoH URLs, objects) is not plain DNS
            servers.append((str(ip_address(entry)), config.port))  # type: ignore[arg-type]
        except ValueError:
            continue
    if not servers:
        raise LookupFailed(f"no system DNS resolver: {os.fspath(resolv_conf)} names no nameserver address")
    return servers


class Lookup:
    """Queries to a list of nameservers, each tried in turn; one instance per inspection."""

    def __init__(self, servers: Sequence[DnsServer], timeout_s: float) -> None:
        self._servers = tuple(servers)
        self._timeout_s = timeout_s

    def ask(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        """One question's answer (NOERROR or NXDOMAIN), from the first nameserver that gives one.

        Raises:
            LookupFailed: no nameserver answered usably (timeout, unreachable, SERVFAIL, REFUSED, ...).
        """
        what = f"{dns.rdatatype.to_text(rdtype)} {name_text(name)}"
        query = dns.message.make_query(name, rdtype, use_edns=0, payload=_EDNS_PAYLOAD)
        problems: list[str] = []
        for server in self._servers:
            where = format_dns_server(server)
            try:
                response, _ = dns.query.udp_with_fallback(
                    query,
                    server[0],
                    timeout=self._timeout_s,
                    port=server[1],
                    ignore_unexpected=True,
                    ignore_errors=True,
                )
            except dns.exception.Timeout:
                problems.append(f"timeout asking {where} for {what}")
                continue
            except (OSError, EOFError) as exc:
                problems.append(f"cannot reach {where} for {what}: {exc}")
                continue
            except dns.exception.DNSException as exc:
                problems.append(f"bad answer from {where} for {what}: {exc}")
                continue
            rcode = response.rcode()
            if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return response
            problems.append(f"{dns.rcode.to_text(rcode)} from {where} for {what}")
        raise LookupFailed("; ".join(problems))

    def follow(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> tuple[list[dns.name.Name], list[dns.rdata.Rdata]]:
        """The records of `rdtype` at `name`, following CNAMEs one query per step.

        Returns:
            (the CNAME targets in order, the records at the last name); NXDOMAIN and NODATA give no records.

        Raises:
            LookupFailed: a query failed, the chain loops, or it is longer than MAX_CNAME_DEPTH.
        """
        chain: list[dns.name.Name] = []
        current = name
        while True:
            response = self.ask(current, rdtype)
            found = response.get_rrset(response.answer, current, dns.rdataclass.IN, rdtype)
            if found is not None:
                return chain, list(found)
            cname = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                return chain, []  # NXDOMAIN or NODATA: an answer, with nothing in it
            target: dns.name.Name = next(iter(cname)).target
            if target == name or target in chain:
                steps = " -> ".join(name_text(n) for n in (name, *chain, target))
                raise LookupFailed(f"CNAME loop: {steps}")
            chain.append(target)
            if len(chain) > MAX_CNAME_DEPTH:
                raise LookupFailed(f"CNAME chain of {name_text(name)} is longer than {MAX_CNAME_DEPTH}")
            current = target

"""SSL-for-SaaS custom hostnames: the object, its input rules, and the validation decision.

A custom hostname becomes active when DNS shows two things: the owner proved control of the name
(the TXT token, or the HTTP token), and the name routes to the zone's account (a CNAME to the zone,
or A/AAAA records that are all addresses the account may use for CDN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from .codes import Code
from .dnsname import is_within, parse_hostname
from .errors import InvalidInput
from .net import IPAddress
from .spectrum import Resolution

__all__ = [
    "NO_FALLBACK_ORIGIN",
    "CustomHostname",
    "DnsAnswer",
    "FallbackOrigin",
    "HostnameQuery",
    "SslRequest",
    "Verdict",
    "decide",
    "ownership_record_name",
    "parse_custom_hostname",
    "parse_origin_server",
    "parse_ssl",
    "resolve_request",
]

PENDING: Final = "pending"
ACTIVE: Final = "active"
# Certificates are not issued yet (a later release brings ACME): every hostname's SSL is initializing.
SSL_INITIALIZING: Final = "initializing"

NO_FALLBACK_ORIGIN: Final = "Zone does not have a fallback origin set."
NO_CNAME: Final = "Custom hostname does not CNAME to this zone."
NOT_OWNED_NO_PROOF: Final = (
    "None of the A or AAAA records are owned by this account and the pre-generated ownership validation token "
    "was not found."
)
NOT_OWNED: Final = "None of the A or AAAA records are owned by this account."
NO_PROOF: Final = (
    "The pre-generated ownership validation token was not found in the TXT record or at the HTTP validation URL."
)
IN_USE: Final = "This hostname is in use elsewhere: it is already active in another zone."

SSL_METHODS: Final = ("http", "txt", "email")
BUNDLE_METHODS: Final = ("ubiquitous", "optimal", "force")
CERTIFICATE_AUTHORITIES: Final = ("digicert", "google", "lets_encrypt", "ssl_com")
_SETTING_VALUES: Final[Mapping[str, tuple[str, ...]]] = {
    "early_hints": ("on", "off"),
    "http2": ("on", "off"),
    "tls_1_3": ("on", "off"),
    "min_tls_version": ("1.0", "1.1", "1.2", "1.3"),
}


def ownership_record_name(hostname: str) -> str:
    return f"_cf-custom-hostname.{hostname}"


def http_challenge_path(hostname_id: str) -> str:
    return f"/.well-known/cf-custom-hostname-challenge/{hostname_id}"


@dataclass(frozen=True, slots=True)
class SslRequest:
    """The SSL settings the client asked for. Certificates are not issued yet: prefixgate echoes them."""

    method: str = "txt"
    type: str = "dv"
    settings: Mapping[str, object] = field(default_factory=dict)
    bundle_method: str = "ubiquitous"
    wildcard: bool = False
    certificate_authority: str | None = None


@dataclass(frozen=True, slots=True)
class CustomHostname:
    id: str  # a UUID, as Cloudflare's are
    zone_id: str
    account_id: str
    hostname: str
    status: str  # "pending" | "active"
    ssl_id: str
    ssl: SslRequest
    ownership_token: str
    custom_origin_server: str | None
    custom_origin_sni: str | None
    custom_metadata: Mapping[str, object] | None
    verification_errors: tuple[str, ...]
    created_at: datetime
    # The A/AAAA addresses an active hostname was validated on through the BYOIP path (empty for the
    # CNAME path): what a revoked delegation or binding takes away.
    addresses: tuple[IPAddress, ...] = ()
    route: str | None = None  # "cname" | "apex" once active
    verified_at: datetime | None = None
    checked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HostnameQuery:
    """Which custom hostnames to list: Cloudflare's filters (all optional), and the order.

    At most one of the name filters and `id` is given.
    """

    hostname: str | None = None
    exact: str | None = None  # `hostname.exact`: the same as `hostname`
    contains: str | None = None  # `hostname.contain`
    starts_with: str | None = None  # `hostname.startsWith`
    id: str | None = None
    status: str | None = None  # `hostname_status`
    ssl_status: str | None = None
    ssl_active: bool = False  # `ssl=1`: only hostnames whose certificate is active
    wildcard: bool | None = None
    certificate_authority: str | None = None
    custom_origin_server: str | None = None
    descending: bool = False


@dataclass(frozen=True, slots=True)
class FallbackOrigin:
    zone_id: str
    origin: str
    status: str
    errors: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """What DNS (and the HTTP challenge) said about a hostname, gathered before deciding.

    `failure` is set when the resolver gave no usable answer (timeout, SERVFAIL, refused): then
    nothing can be concluded and the hostname keeps its status.
    """

    txt: tuple[str, ...] = ()
    cname_chain: tuple[str, ...] = ()  # the names the hostname CNAMEs through, in order
    addresses: tuple[IPAddress, ...] = ()  # the final A/AAAA records
    http_token_found: bool = False
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    errors: tuple[str, ...]
    addresses: tuple[IPAddress, ...] = ()
    route: str | None = None


def parse_custom_hostname(text: str) -> str:
    """A custom hostname: a DNS name in ASCII (IDNs in their xn-- form), no wildcard, no trailing dot."""
    return parse_hostname(text, what="hostname", trailing_dot=False, code=Code.INVALID_HOSTNAME)


def parse_origin_server(text: str, what: str = "custom_origin_server") -> str:
    """An origin is a DNS name (no IP literals, ports or schemes), as Cloudflare requires."""
    return parse_hostname(text, what=what, trailing_dot=False, code=Code.INVALID_HOSTNAME)


def parse_ssl(
    *,
    method: str | None,
    type: str | None,
    settings: Mapping[str, object] | None,
    bundle_method: str | None,
    wildcard: bool | None,
    certificate_authority: str | None,
    custom_certificate_field: str | None = None,
) -> SslRequest:
    """Check the `ssl` object of a create or edit. Unknown values are refused, never stored.

    Args:
        custom_certificate_field: the name of a custom-certificate field the request gave
            (`custom_certificate`, `custom_key`, `custom_cert_bundle`, `custom_csr_id`), refused for now.
    """

    def one_of(name: str, value: str | None, allowed: Sequence[str]) -> None:
        if value is not None and value not in allowed:
            raise InvalidInput(f"ssl.{name} must be one of {', '.join(allowed)}, not {value!r}", code=Code.INVALID_SSL)

    one_of("method", method, SSL_METHODS)
    one_of("type", type, ("dv",))
    one_of("bundle_method", bundle_method, BUNDLE_METHODS)
    one_of("certificate_authority", certificate_authority, CERTIFICATE_AUTHORITIES)
    if custom_certificate_field is not None:
        raise InvalidInput(
            "custom certificates are not supported yet: prefixgate does not handle certificates until "
            f"certificate issuance lands; leave ssl.{custom_certificate_field} out",
            code=Code.INVALID_SSL,
        )
    clean: dict[str, object] = {}
    for key, value in (settings or {}).items():
        if key == "ciphers":
            if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
                raise InvalidInput("ssl.settings.ciphers must be a list of cipher names", code=Code.INVALID_SSL)
            if len(set(value)) != len(value):
                raise InvalidInput("ssl.settings.ciphers lists a cipher more than once", code=Code.INVALID_SSL)
            clean[key] = list(value)
        elif key in _SETTING_VALUES:
            one_of(f"settings.{key}", value if isinstance(value, str) else repr(value), _SETTING_VALUES[key])
            clean[key] = value
        else:
            raise InvalidInput(f"ssl.settings.{key} is not a setting prefixgate knows", code=Code.INVALID_SSL)
    return SslRequest(
        method=method or "txt",
        type=type or "dv",
        settings=clean,
        bundle_method=bundle_method or "ubiquitous",
        wildcard=bool(wildcard),
        certificate_authority=certificate_authority,
    )


def _routes_to_zone(chain: Sequence[str], zone_name: str, fallback_origin: str) -> bool:
    return any(name == fallback_origin or is_within(name, zone_name) for name in chain)


def decide(
    host: CustomHostname,
    *,
    zone_name: str,
    fallback_origin: str | None,
    dns: DnsAnswer,
    address_problems: Mapping[IPAddress, tuple[str, str] | None],
    active_elsewhere: bool,
) -> Verdict:
    """The hostname's new status and verification errors, from what DNS showed.

    Args:
        address_problems: for each of `dns.addresses`, why the hostname's account may not serve CDN
            on it as (reason, message), or None when it may (the shared usability rule).
        active_elsewhere: the same hostname is active in another zone.
    """
    if dns.failure is not None:
        note = f"DNS lookup failed, status unchanged: {dns.failure}"
        return Verdict(host.status, (note,), host.addresses, host.route)
    if fallback_origin is None:
        return Verdict(PENDING, (NO_FALLBACK_ORIGIN,))
    owned = host.ownership_token in dns.txt or dns.http_token_found
    via_cname = _routes_to_zone(dns.cname_chain, zone_name, fallback_origin)
    problems = [(ip, address_problems.get(ip)) for ip in dns.addresses]
    via_apex = bool(problems) and all(p is None for _, p in problems)
    errors: list[str] = []
    if not (via_cname or via_apex):
        if dns.cname_chain or not dns.addresses:
            errors.append(NO_CNAME)
        else:
            errors.append(NOT_OWNED if owned else NOT_OWNED_NO_PROOF)
        errors.extend(f"{ip}: {p[0]}: {p[1]}" for ip, p in problems if p is not None)
        if not dns.cname_chain and not dns.addresses:
            errors.append(f"{host.hostname} has no CNAME, A or AAAA records")
    if not owned and not (errors and errors[0] == NOT_OWNED_NO_PROOF):
        errors.append(NO_PROOF)
    if errors:
        return Verdict(PENDING, tuple(errors))
    if active_elsewhere:
        return Verdict(PENDING, (IN_USE,))
    if via_cname:
        return Verdict(ACTIVE, (), (), "cname")
    return Verdict(ACTIVE, (), tuple(dns.addresses), "apex")


def resolve_request(
    ip: IPAddress,
    sni: str,
    host: CustomHostname | None,
    problem: tuple[str, str] | None,
    *,
    origin: str | None,
    zone_paused: bool = False,
) -> Resolution:
    """Who receives an HTTP(S) request for `sni` on `ip`: the data plane's decision.

    Args:
        host: the hostname active under that name (in whichever zone), if any.
        problem: why its account may not serve CDN on `ip` (the shared usability rule), computed now.
        origin: where its traffic goes (its custom origin server, else the zone's fallback origin).
    """
    if host is None:
        return Resolution(False, "hostname_not_active", f"no custom hostname {sni} is active", kind="custom_hostname")

    def answer(served: bool, reason: str, message: str) -> Resolution:
        return Resolution(
            served,
            reason,
            message,
            kind="custom_hostname",
            object_id=host.id,
            account_id=host.account_id,
            zone_id=host.zone_id,
            origin=origin,
        )

    if zone_paused:
        return answer(False, "zone_paused", f"custom hostname {host.id} is not served: zone {host.zone_id} is paused")
    if problem is not None:
        return answer(False, problem[0], f"custom hostname {host.id} is not served on {ip}: {problem[1]}")
    return answer(True, "served", f"custom hostname {host.id} of account {host.account_id} receives {sni} on {ip}")

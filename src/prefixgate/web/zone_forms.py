"""The forms of the zone pages: a Spectrum app's fields as typed into the form, turned into the service's
AppInput (the service checks every rule), and refusals placed next to the field they concern."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from ..domain.codes import Code
from ..domain.errors import DomainError
from ..domain.spectrum import SpectrumApp
from ..service.spectrum import AppInput
from .forms import Form

__all__ = ["TOP", "AppFields", "FieldErrors", "app_errors", "hostname_errors", "single_error"]

TOP = ""  # the key of a message that concerns the whole form, shown above it
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class FieldError:
    message: str
    details: tuple[str, ...] = ()  # one line per refused item, e.g. "1.2.3.5: ip_not_usable: ..."


@dataclass(frozen=True, slots=True)
class FieldErrors:
    """Refusals by form field name (TOP for the whole form); what a template shows next to each field."""

    by_field: dict[str, FieldError] = field(default_factory=dict)

    def get(self, name: str) -> FieldError | None:
        return self.by_field.get(name)

    def __bool__(self) -> bool:
        return bool(self.by_field)


def _split(text: str) -> list[str]:
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def _named_origin(entry: str) -> tuple[str, str] | None:
    """`origin.example.com:22` as (name, ports); None for an address (`192.0.2.1:22`, `[2001:db8::1]:22`)
    or a URI, which are direct origins."""
    if "://" in entry or entry.startswith("["):
        return None
    host, colon, ports = entry.rpartition(":")
    if not colon:
        host, ports = entry, ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host, ports
    return None


@dataclass(frozen=True, slots=True)
class AppFields:
    """A Spectrum app as the form shows it. Edge IPs empty means dynamic (anycast) edge IPs."""

    hostname: str = ""
    protocol: str = "tcp/22"
    edge_ips: str = ""
    origin: str = ""
    proxy_protocol: str = "off"
    ip_firewall: bool = False
    tls: str = ""

    @classmethod
    def posted(cls, form: Form) -> AppFields:
        return cls(
            hostname=form["hostname"].strip(),
            protocol=form["protocol"].strip(),
            edge_ips=form["edge_ips"].strip(),
            origin=form["origin"].strip(),
            proxy_protocol=form["proxy_protocol"] or "off",
            ip_firewall=form.flag("ip_firewall"),
            tls=form["tls"],
        )

    @classmethod
    def of(cls, app: SpectrumApp) -> AppFields:
        if app.origin_dns is not None:
            origin = f"{app.origin_dns.name}:{app.origin_port}" if app.origin_port else app.origin_dns.name
        else:
            scheme = f"{app.protocol.transport}://"
            origin = ", ".join(uri.removeprefix(scheme) for uri in app.origin_direct)
        return cls(
            hostname=app.dns_name,
            protocol=str(app.protocol),
            edge_ips=", ".join(str(ip) for ip in app.edge_ips.ips),
            origin=origin,
            proxy_protocol=app.proxy_protocol,
            ip_firewall=app.ip_firewall,
            tls=app.tls or "",
        )

    def to_input(self, before: SpectrumApp | None = None) -> AppInput:
        """The service's input. Settings the form does not show (traffic type, Argo, connectivity, the
        origin's record type and TTL) are kept from `before`, the app being edited."""
        ips = _split(self.edge_ips)
        origins = _split(self.origin)
        named = _named_origin(origins[0]) if len(origins) == 1 else None
        transport = self.protocol.partition("/")[0] or "tcp"
        kept_dns = before.origin_dns if before is not None and named is not None else None
        return AppInput(
            protocol=self.protocol,
            dns_type="ADDRESS" if ips else "CNAME",
            dns_name=self.hostname,
            edge_ips_type="static" if ips else "dynamic",
            edge_connectivity=before.edge_ips.connectivity if before is not None and not ips else None,
            edge_ips=tuple(ips),
            origin_direct=None
            if named or not origins
            else [o if "://" in o else f"{transport}://{o}" for o in origins],
            origin_dns_name=named[0] if named else None,
            origin_dns_type=kept_dns.type if kept_dns else "",
            origin_dns_ttl=kept_dns.ttl if kept_dns else None,
            origin_port=(named[1] or None) if named else None,
            traffic_type=before.traffic_type if before is not None else "direct",
            proxy_protocol=self.proxy_protocol,
            ip_firewall=self.ip_firewall,
            tls=self.tls or None,
            argo_smart_routing=before.argo_smart_routing if before is not None else False,
        )


def single_error(name: str, exc: DomainError) -> FieldErrors:
    return FieldErrors({name: FieldError(exc.message, tuple(message for _, message in exc.details))})


_APP_FIELDS_BY_CODE: dict[int, str] = {
    Code.EDGE_IPS_NOT_AUTHORIZED: "edge_ips",
    Code.INVALID_EDGE_IPS: "edge_ips",
    Code.INVALID_IP: "edge_ips",
    Code.NON_CANONICAL_CIDR: "edge_ips",
    Code.EDGE_PORT_TAKEN: "edge_ips",
    Code.INVALID_PROTOCOL: "protocol",
    Code.INVALID_ORIGIN: "origin",
}
# Generic refusals (1001) start with the API name of the field they concern.
_APP_FIELDS_BY_PREFIX = (
    ("dns.name", "hostname"),
    ("origin_dns", "origin"),
    ("proxy_protocol", "proxy_protocol"),
    ("tls", "tls"),
    ("ip_firewall", "ip_firewall"),
)


def app_errors(exc: DomainError) -> FieldErrors:
    """Where a refused create or edit of a Spectrum app is shown: e.g. 11019 next to Edge IPs."""
    name = _APP_FIELDS_BY_CODE.get(exc.code)
    if name is None and exc.code == Code.INVALID_FIELD:
        name = next((f for prefix, f in _APP_FIELDS_BY_PREFIX if exc.message.startswith(prefix)), None)
    return single_error(name or TOP, exc)


def hostname_errors(exc: DomainError) -> FieldErrors:
    """Where a refused custom hostname is shown: the origin's errors by it, the name's by the name."""
    if exc.message.startswith("custom_origin_server"):
        return single_error("custom_origin_server", exc)
    if exc.code in (Code.INVALID_HOSTNAME, Code.HOSTNAME_EXISTS, Code.HOSTNAME_IN_USE):
        return single_error("hostname", exc)
    return single_error(TOP, exc)

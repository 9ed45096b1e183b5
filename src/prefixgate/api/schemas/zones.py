"""Zones, services, service bindings, Spectrum apps and the edge's resolve answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from .common import Text

__all__ = [
    "AppIn",
    "AppOut",
    "BindingOut",
    "CreateBinding",
    "CreateZone",
    "DelegationImpactOut",
    "EditZone",
    "ResolveOut",
    "ServiceOut",
    "ZoneOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AccountRef(_In):
    id: Text = Field(max_length=32)


class CreateZone(_In):
    name: Text = Field(max_length=1000)  # the domain check names what is wrong (1700)
    account: AccountRef
    type: Literal["full", "partial", "secondary"] = "full"


class EditZone(_In):
    paused: StrictBool | None = None


class ZoneOut(BaseModel):
    id: str
    name: str
    status: str
    paused: bool
    type: str
    development_mode: float
    name_servers: list[str]
    original_name_servers: list[str] | None
    original_registrar: str | None
    original_dnshost: str | None
    created_on: str
    modified_on: str
    activated_on: str | None
    account: dict[str, str | None]
    owner: dict[str, str | None]
    meta: dict[str, Any]
    plan: dict[str, str | None]
    permissions: list[str]


class ServiceOut(BaseModel):
    id: str
    name: str


class CreateBinding(_In):
    cidr: StrictStr = Field(max_length=64)  # the domain parser names what is wrong with it
    service_id: Text = Field(max_length=32)


class Provisioning(BaseModel):
    state: Literal["provisioning", "active"]


class BindingOut(BaseModel):
    id: str
    cidr: str
    service_id: str
    service_name: str
    provisioning: Provisioning


class DnsIn(_In):
    type: Literal["CNAME", "ADDRESS"]
    name: Text = Field(max_length=253)


class EdgeIpsIn(_In):
    type: Literal["dynamic", "static"]
    connectivity: Literal["all", "ipv4", "ipv6"] | None = None
    ips: list[Text] | None = Field(default=None, max_length=64)


class OriginDnsIn(_In):
    name: Text = Field(max_length=253)
    type: Literal["", "A", "AAAA", "SRV"] = ""
    ttl: StrictInt | None = None


class AppIn(_In):
    protocol: Text = Field(max_length=32)
    dns: DnsIn
    edge_ips: EdgeIpsIn = Field(default_factory=lambda: EdgeIpsIn(type="dynamic", connectivity="all"))
    origin_direct: list[Text] | None = Field(default=None, max_length=64)
    origin_dns: OriginDnsIn | None = None
    origin_port: StrictInt | Text | None = None
    traffic_type: Literal["direct", "http", "https"] = "direct"
    proxy_protocol: Literal["off", "v1", "v2", "simple"] = "off"
    ip_firewall: StrictBool = False
    tls: Literal["off", "flexible", "full", "strict"] | None = None
    argo_smart_routing: StrictBool = False


class AppOut(BaseModel):
    id: str
    protocol: str
    dns: dict[str, str]
    traffic_type: str
    edge_ips: dict[str, Any]
    origin_direct: list[str] | None = None
    origin_dns: dict[str, Any] | None = None
    origin_port: int | str | None = None
    proxy_protocol: str
    ip_firewall: bool
    tls: str | None
    argo_smart_routing: bool
    created_on: str
    modified_on: str
    status: Literal["active", "blocked"]
    blocked_reason: str | None


class AffectedAppOut(BaseModel):
    id: str
    zone_id: str
    account_id: str
    ips: list[str]
    reason: str


class AffectedHostnameOut(BaseModel):
    id: str
    hostname: str
    zone_id: str
    account_id: str
    ips: list[str]
    reason: str


class AffectedAddressMapOut(BaseModel):
    id: str
    account_id: str
    ips: list[str]
    reason: str


class DelegationImpactOut(BaseModel):
    delegation_id: str
    affected_apps: list[AffectedAppOut]
    affected_hostnames: list[AffectedHostnameOut]
    affected_address_maps: list[AffectedAddressMapOut]


class ResolveOut(BaseModel):
    served: bool
    kind: Literal["spectrum_app", "custom_hostname"] | None
    id: str | None
    account_id: str | None
    zone_id: str | None
    origin: str | None
    reason: str
    message: str

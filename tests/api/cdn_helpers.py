"""Shared by the custom-hostname tests: A's /24 bound to CDN with its first /25 delegated to B, an
SSL-for-SaaS zone (with a fallback origin) in each of A, B and C, and the loopback DNS server that
holds the records the hostnames are validated against."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from cloudflare import BaseModel, Cloudflare
from cloudflare.types.custom_hostnames import CustomHostnameGetResponse

from prefixgate.domain.bindings import CDN
from tests.api.helpers import assert_ok
from tests.api.spectrum_helpers import Stage, stage
from tests.dnsserver import LoopbackDns
from tests.support import World

NO_CNAME = "Custom hostname does not CNAME to this zone."
NOT_OWNED_NO_PROOF = (
    "None of the A or AAAA records are owned by this account and the pre-generated ownership validation token "
    "was not found."
)
NOT_OWNED = "None of the A or AAAA records are owned by this account."
NO_FALLBACK = "Zone does not have a fallback origin set."


class Validated(BaseModel):
    """The envelope of POST .../custom_hostnames/{id}/validate (a prefixgate extension the SDK has no
    method for), parsed by the SDK's generic `post` into the SDK's own hostname model."""

    success: bool
    result: CustomHostnameGetResponse


def sdk_validate(cf: Cloudflare, zone_id: str, hostname_id: str) -> CustomHostnameGetResponse:
    """Check a hostname now, through the official SDK's generic `post`."""
    answer = cf.post(f"/zones/{zone_id}/custom_hostnames/{hostname_id}/validate", cast_to=Validated)
    assert answer.success is True
    return answer.result


def hostnames_url(zone_id: str) -> str:
    return f"/zones/{zone_id}/custom_hostnames"


def hostname_url(zone_id: str, hostname_id: str) -> str:
    return f"{hostnames_url(zone_id)}/{hostname_id}"


def fallback_url(zone_id: str) -> str:
    return f"{hostnames_url(zone_id)}/fallback_origin"


def shop_name(label: str = "shop") -> str:
    """A customer's hostname no other test uses (the server and the DNS server are shared)."""
    return f"{label}-{secrets.token_hex(5)}.example.net"


@dataclass
class CdnStage:
    """`s.spectrum` is the underlying stage (its prefix is bound to CDN here, and 1.../25 is B's)."""

    base: Stage
    dns: LoopbackDns

    @property
    def world(self) -> World:
        return self.base.world

    def ip(self, host: int) -> str:
        return self.base.ip(host)

    def client(self, who: str) -> httpx.Client:
        return self.base.client(who)

    def zone(self, who: str) -> dict[str, Any]:
        return self.base.zones[who]

    def fallback(self, who: str) -> str:
        return f"fallback.{self.zone(who)['name']}"

    def post_hostname(self, who: str, hostname: str, **extra: Any) -> httpx.Response:
        body = {"hostname": hostname, "ssl": {"method": "txt", "type": "dv"}, **extra}
        return self.client(who).post(hostnames_url(self.zone(who)["id"]), json=body)

    def create(self, who: str, hostname: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = assert_ok(self.post_hostname(who, hostname, **extra))
        assert result["status"] == "pending", result
        return result

    def get(self, who: str, hostname_id: str) -> dict[str, Any]:
        result: dict[str, Any] = assert_ok(self.client(who).get(hostname_url(self.zone(who)["id"], hostname_id)))
        return result

    def validate(self, who: str, hostname_id: str) -> dict[str, Any]:
        url = f"{hostname_url(self.zone(who)['id'], hostname_id)}/validate"
        result: dict[str, Any] = assert_ok(self.client(who).post(url))
        return result

    def publish(self, host: dict[str, Any], *addresses: str, token: bool = True) -> None:
        """Point the hostname at `addresses` (A or AAAA) and, unless told not to, publish its TXT token."""
        name = host["hostname"]
        self.dns.delete(name)
        v4 = [a for a in addresses if ":" not in a]
        v6 = [a for a in addresses if ":" in a]
        if v4:
            self.dns.set(name, "A", *v4)
        if v6:
            self.dns.set(name, "AAAA", *v6)
        txt = host["ownership_verification"]
        assert txt["type"] == "txt" and txt["name"] == f"_cf-custom-hostname.{name}"
        self.dns.delete(txt["name"])
        if token:
            self.dns.set(txt["name"], "TXT", txt["value"])

    def activate(self, who: str, hostname: str, ip_host: int = 10) -> dict[str, Any]:
        host = self.create(who, hostname)
        self.publish(host, self.ip(ip_host))
        checked = self.validate(who, host["id"])
        assert checked["status"] == "active", checked
        assert checked["verification_errors"] == [], checked
        return checked

    def resolve(self, ip: str, sni: str, port: int = 443) -> dict[str, Any]:
        op = self.world.client(self.world.operator)
        result: dict[str, Any] = assert_ok(
            op.get("/edge/resolve", params={"ip": ip, "protocol": "tcp", "port": port, "sni": sni})
        )
        return result


def cdn_stage(world: World, dns: LoopbackDns, *, fallback: bool = True, approve: bool = True) -> CdnStage:
    """A's /24 bound whole to CDN, its first /25 delegated to B, and fallback origins in every zone."""
    base = stage(world, approve=approve, bind=False)
    assert_ok(base.bind(base.prefix["cidr"], CDN), 201)
    base.delegate(base.cidr(0, 25), "b")
    s = CdnStage(base, dns)
    if fallback:
        for who in ("a", "b", "c"):
            assert_ok(s.client(who).put(fallback_url(s.zone(who)["id"]), json={"origin": s.fallback(who)}))
    return s

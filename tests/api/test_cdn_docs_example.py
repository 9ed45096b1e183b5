"""The CDN example of docs/custom-hostnames.md, end to end, with the docs' own addresses and names.

"Account A can validate and serve traffic for a custom hostname on any of the IPs in its prefix. If
Account A delegates some or all of the prefix to Account B, Account B may also validate and serve
traffic for custom hostnames on those IPs as well."

A owns 1.2.3.0/24 (approved, bound to CDN) and delegates 1.2.3.0/25 to B; both run SSL for SaaS
(fallback origins). Each test has a server of its own (its own database, so the docs' addresses
are free) and a real DNS server on loopback holding the customers' records. Everything is driven
over real HTTP: through the official SDK where it has the call (prefixes, bindings, delegations,
zones, custom hostnames and fallback origins), with httpx otherwise (the edge's resolve, the
delegation impact, audit logs), and `prefixgate resolve` as a subprocess.

Every hostname uses TXT validation: the HTTP method would make the validator connect to the
hostname's addresses, and tests never send traffic to 1.2.3.x.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cloudflare import Cloudflare, ConflictError
from cloudflare.types.custom_hostnames import CustomHostnameGetResponse

from prefixgate.domain.bindings import CDN
from prefixgate.settings import Settings
from tests.api.cdn_helpers import NOT_OWNED, sdk_validate
from tests.api.conftest import sdk_clients
from tests.api.helpers import assert_ok, delegations_url, present
from tests.api.spectrum_helpers import audit_entries
from tests.dnsserver import LoopbackDns
from tests.procserver import EXE
from tests.support import Server, World, fresh_database_url, make_world

PREFIX = "1.2.3.0/24"
DELEGATED = "1.2.3.0/25"
ZONES = {"a": "provider.example.com", "b": "saas.example.com"}
FALLBACK = {who: f"fallback.{zone}" for who, zone in ZONES.items()}
ORIGIN_ADDRESS = "192.0.2.80"  # where the fallback origins' own A records point (never contacted)


@dataclass
class Docs:
    server: Server
    dns: LoopbackDns
    world: World
    sdk: dict[str, Cloudflare]  # "a" (alice, A's administrator), "b" (bob, B's)
    prefix_id: str
    delegation_id: str
    zone_ids: dict[str, str]

    def account(self, who: str) -> str:
        return {"a": self.world.a, "b": self.world.b}[who]

    def hostname(self, who: str, name: str, *addresses: str, cname: str | None = None) -> CustomHostnameGetResponse:
        """`who` adds `name` through the SDK, DNS gets its records and TXT token, and it is checked now."""
        made = present(
            self.sdk[who].custom_hostnames.create(
                zone_id=self.zone_ids[who], hostname=name, ssl={"method": "txt", "type": "dv"}
            )
        )
        assert made.status == "pending"
        txt = present(made.ownership_verification)
        assert (txt.type, txt.name) == ("txt", f"_cf-custom-hostname.{name}")
        self.dns.set(present(txt.name), "TXT", present(txt.value))
        if cname is not None:
            self.dns.set(name, "CNAME", cname)
        if addresses:
            self.dns.set(name, "A", *addresses)
        return self.validate(who, made.id)

    def validate(self, who: str, hostname_id: str) -> CustomHostnameGetResponse:
        return sdk_validate(self.sdk[who], self.zone_ids[who], hostname_id)

    def get(self, who: str, hostname_id: str) -> CustomHostnameGetResponse:
        return present(self.sdk[who].custom_hostnames.get(hostname_id, zone_id=self.zone_ids[who]))

    def resolve(self, ip: str, sni: str) -> dict[str, Any]:
        """The operator's GET /edge/resolve for HTTPS to `sni` on `ip`."""
        op = self.world.client(self.world.operator)
        params: dict[str, str | int] = {"ip": ip, "protocol": "tcp", "port": 443, "sni": sni}
        result: dict[str, Any] = assert_ok(op.get("/edge/resolve", params=params))
        return result

    def cli_resolve(self, ip: str, sni: str) -> dict[str, Any]:
        """`prefixgate resolve`, reading the same database."""
        out = subprocess.run(
            [
                EXE,
                "resolve",
                "--ip",
                ip,
                "--port",
                "443",
                "--sni",
                sni,
                "--database-url",
                self.server.settings.database_url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        printed: dict[str, Any] = json.loads(out.stdout)
        return printed

    def audit(self, who: str, action: str) -> list[dict[str, Any]]:
        client = self.world.client(self.world.alice if who == "a" else self.world.bob)
        return audit_entries(client, self.account(who), action)

    def audit_ids(self, who: str, action: str) -> list[str]:
        return [e["resource"]["id"] for e in self.audit(who, action)]

    def validated_through(self, who: str, hostname_id: str) -> tuple[str, list[str]]:
        """How the hostname became active (its audit event keeps the route and the addresses)."""
        [event] = [e for e in self.audit(who, "custom_hostname.activated") if e["resource"]["id"] == hostname_id]
        new = event["newValueJson"]
        return new["route"], new["addresses"]


@pytest.fixture
def docs(engine_name: str, tmp_path: Path, loopback_dns: LoopbackDns) -> Iterator[Docs]:
    """The docs' stage on a fresh server: prefix, CDN binding, delegation, SaaS zones of A and B."""
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        settings = Settings(
            database_url=url, dns_server=loopback_dns.address, dns_timeout_s=0.5, revalidate_interval_s=0
        )
        server = Server(settings).start()
        world = make_world(server)
        try:
            with sdk_clients(server) as sdk_for:
                alice, bob = sdk_for(world.alice), sdk_for(world.bob)
                prefixes = alice.addressing.prefixes
                prefix = present(prefixes.create(account_id=world.a, cidr=PREFIX, asn=13335))
                pid = present(prefix.id)
                world.approve(pid)  # as the operator does
                assert present(prefixes.get(pid, account_id=world.a)).approved == "V"
                binding = prefixes.service_bindings.create(pid, account_id=world.a, cidr=PREFIX, service_id=CDN.id)
                assert present(binding).service_name == "CDN"
                delegation = present(
                    prefixes.delegations.create(pid, account_id=world.a, cidr=DELEGATED, delegated_account_id=world.b)
                )
                assert (delegation.cidr, delegation.delegated_account_id) == (DELEGATED, world.b)
                zone_ids = {}
                for who, cf, account in (("a", alice, world.a), ("b", bob, world.b)):
                    zone = present(cf.zones.create(account={"id": account}, name=ZONES[who]))
                    zone_ids[who] = zone.id
                    fo = present(cf.custom_hostnames.fallback_origin.update(zone_id=zone.id, origin=FALLBACK[who]))
                    assert (fo.origin, fo.status) == (FALLBACK[who], "active")
                    loopback_dns.set(FALLBACK[who], "A", ORIGIN_ADDRESS)
                yield Docs(server, loopback_dns, world, {"a": alice, "b": bob}, pid, present(delegation.id), zone_ids)
        finally:
            world.close()
            server.stop()


def assert_served(docs: Docs, ip: str, host: CustomHostnameGetResponse, who: str) -> dict[str, Any]:
    answer = docs.resolve(ip, host.hostname)
    expected = {
        "served": True,
        "reason": "served",
        "kind": "custom_hostname",
        "id": host.id,
        "account_id": docs.account(who),
        "zone_id": docs.zone_ids[who],
        "origin": FALLBACK[who],
    }
    assert answer == {**answer, **expected}, answer
    return answer


def test_both_accounts_validate_and_serve_on_the_prefix(docs: Docs) -> None:
    # B's shop.example.net resolves to 1.2.3.10, in the /25 A delegated to B, and carries the token.
    shop = docs.hostname("b", "shop.example.net", "1.2.3.10")
    assert (shop.status, shop.verification_errors) == ("active", [])
    assert docs.get("b", shop.id).status == "active"
    served = assert_served(docs, "1.2.3.10", shop, "b")

    # 1.2.3.200 is A's, never delegated: B's hostname there stays pending and says why.
    store = docs.hostname("b", "store.example.net", "1.2.3.200")
    assert store.status == "pending"
    errors = present(store.verification_errors)
    assert len(errors) == 2 and errors[0] == NOT_OWNED, errors
    assert errors[1].startswith("1.2.3.200: ip_not_usable: "), errors
    assert docs.get("b", store.id).verification_errors == errors
    assert docs.resolve("1.2.3.200", "store.example.net")["reason"] == "hostname_not_active"

    # A may use its whole prefix, so the addresses it delegated too: both accounts share 1.2.3.10.
    a_shop = docs.hostname("a", "shop.example.org", "1.2.3.10")
    assert (a_shop.status, a_shop.verification_errors) == ("active", [])
    assert_served(docs, "1.2.3.10", a_shop, "a")
    assert_served(docs, "1.2.3.200", a_shop, "a")
    assert_served(docs, "1.2.3.10", shop, "b")  # B's hostname is unchanged by A's

    # The CNAME path: blog.example.net is a CNAME to B's fallback origin (and carries the token).
    blog = docs.hostname("b", "blog.example.net", cname=FALLBACK["b"])
    assert (blog.status, blog.verification_errors) == ("active", [])
    assert_served(docs, "1.2.3.10", blog, "b")
    assert docs.validated_through("b", blog.id) == ("cname", [])
    assert docs.validated_through("b", shop.id) == ("apex", ["1.2.3.10"])

    # `prefixgate resolve` answers exactly what the API answers.
    assert docs.cli_resolve("1.2.3.10", "shop.example.net") == served
    for ip, sni in (
        ("1.2.3.10", "shop.example.org"),
        ("1.2.3.200", "store.example.net"),
        ("1.2.3.10", "blog.example.net"),
    ):
        assert docs.cli_resolve(ip, sni) == docs.resolve(ip, sni), (ip, sni)


def test_revoking_the_delegation_sends_the_apex_hostname_back_to_pending(docs: Docs) -> None:
    shop = docs.hostname("b", "shop.example.net", "1.2.3.10")
    blog = docs.hostname("b", "blog.example.net", cname=FALLBACK["b"])
    a_shop = docs.hostname("a", "shop.example.org", "1.2.3.10")
    assert {h.status for h in (shop, blog, a_shop)} == {"active"}
    delegations = docs.sdk["a"].addressing.prefixes.delegations
    owner = docs.world.client(docs.world.alice)
    url = f"{delegations_url(docs.world.a, docs.prefix_id)}/{docs.delegation_id}"

    # Refused while B's hostname depends on it, naming the hostname and the address; nothing changes.
    with pytest.raises(ConflictError) as refused:
        delegations.delete(docs.delegation_id, account_id=docs.world.a, prefix_id=docs.prefix_id)
    body = refused.value.body
    assert isinstance(body, dict) and body["errors"][0]["code"] == 1901, body
    assert [e for e in body["errors"][1:] if shop.id in e["message"] and "1.2.3.10" in e["message"]], body
    assert all(blog.id not in e["message"] and a_shop.id not in e["message"] for e in body["errors"]), body
    impact = assert_ok(owner.get(f"{url}/impact"))
    assert [(h["id"], h["ips"]) for h in impact["affected_hostnames"]] == [(shop.id, ["1.2.3.10"])]
    assert docs.get("b", shop.id).status == "active"

    forced = delegations.delete(
        docs.delegation_id, account_id=docs.world.a, prefix_id=docs.prefix_id, extra_query={"force": "true"}
    )
    assert present(forced).id == docs.delegation_id

    # B's apex hostname is pending again, naming the delegation that went; nothing serves it.
    after = docs.get("b", shop.id)
    assert after.status == "pending"
    assert docs.delegation_id in present(after.verification_errors)[0], after.verification_errors
    gone = docs.resolve("1.2.3.10", "shop.example.net")
    assert (gone["served"], gone["reason"]) == (False, "hostname_not_active")
    assert docs.cli_resolve("1.2.3.10", "shop.example.net") == gone
    # Checked again, DNS still says 1.2.3.10, which B may no longer use.
    again = docs.validate("b", shop.id)
    assert again.status == "pending"
    assert present(again.verification_errors)[1].startswith("1.2.3.10: ip_not_usable: ")

    # The CNAME-path hostname stays active: it was validated through its CNAME to B's zone, which no
    # delegation grants, so the revocation takes nothing it depends on (it pins no address, and the
    # impact above did not list it). It is still only served on addresses B may use for CDN, though:
    # after the revocation B has none left on 1.2.3.0/24, so resolve refuses it there, with the reason.
    assert docs.get("b", blog.id).status == "active"
    assert docs.validate("b", blog.id).status == "active"
    refused_here = docs.resolve("1.2.3.10", "blog.example.net")
    assert (refused_here["served"], refused_here["reason"], refused_here["id"]) == (False, "ip_not_usable", blog.id)

    # A's own hostname on the same address is A's to serve, delegation or not.
    assert docs.get("a", a_shop.id).status == "active"
    assert_served(docs, "1.2.3.10", a_shop, "a")

    # Both accounts' audit logs record the deactivation of B's hostname, and of nothing else.
    assert docs.audit_ids("a", "custom_hostname.deactivated") == [shop.id]
    assert docs.audit_ids("b", "custom_hostname.deactivated") == [shop.id]

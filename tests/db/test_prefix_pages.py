"""The prefix pages' read models and bindings.binding_impact, on SQLite and PostgreSQL.

One /24 of A, bound whole to Spectrum with its upper /25 overridden to CDN; .0/26 delegated to B,
.64/26 and .128/26 to C. B and C each run a Spectrum app on their addresses, C and A each have a custom
hostname validated (against a loopback DNS server) on CDN addresses. The viewer belongs to A and B, not C.
No test changes the scene (the removal they try is refused), so the module shares it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.adapters.dns.inspector import DnsInspector
from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.domain.errors import AccessDenied, Conflict, NotFound
from prefixgate.domain.hostnames import ACTIVE, ownership_record_name
from prefixgate.domain.model import PageRequest
from prefixgate.service import (
    bindings,
    delegations,
    hostname_checks,
    hostnames,
    identity,
    prefixes,
    sessions,
    spectrum,
    zones,
)
from prefixgate.service.context import Actor
from prefixgate.service.prefix_pages import binding_removal, delegation_removal, prefix_page, received_rows
from tests.dnsserver import LoopbackDns
from tests.support import fresh_database_url, make_member, migrated_database, unique_v4_prefix

CLI = Actor.cli()


@dataclass
class Scene:
    db: SqlDatabase
    viewer: Actor  # a member of A and B
    outsider: Actor  # a member of B only
    a: str
    b: str
    c: str
    names: dict[str, str]
    prefix_id: str
    net: str  # "x.y.z." : the /24's first three octets
    spectrum_binding: str
    cdn_binding: str
    b_app: str
    c_app: str
    a_host: str
    c_host: str
    c_zone_name: str


def actor_of(db: SqlDatabase, email: str) -> Actor:
    """The Actor a signed-in user is: the one the dashboard's pages act as."""
    password = secrets.token_urlsafe(12)
    sessions.set_password(db, CLI, email, password)
    return sessions.login(db, email, password, ip="127.0.0.1", policy=sessions.SessionPolicy()).actor


def app_on(db: SqlDatabase, zone_id: str, zone_name: str, ip: str, protocol: str, label: str) -> str:
    spec = spectrum.AppInput(
        protocol=protocol,
        dns_type="ADDRESS",
        dns_name=f"{label}.{zone_name}",
        edge_ips_type="static",
        edge_ips=[ip],
        origin_direct=[f"tcp://192.0.2.1:{protocol.partition('/')[2]}"],
    )
    return spectrum.create_app(db, CLI, zone_id, spec).id


def active_hostname(db: SqlDatabase, dns: LoopbackDns, zone_id: str, name: str, ip: str) -> str:
    zone = zones.get_zone(db, CLI, zone_id)
    hostnames.put_fallback_origin(db, CLI, zone_id, f"fallback.{zone.name}")
    host = hostnames.create_hostname(db, CLI, zone_id, hostnames.HostnameInput(name, hostnames.SslInput()))
    dns.set(name, "A", ip)
    dns.set(ownership_record_name(name), "TXT", host.ownership_token)
    checked = hostname_checks.validate_hostname(db, DnsInspector(dns.address, 5.0), CLI, zone_id, host.id)
    assert checked.status == ACTIVE, checked.verification_errors
    return host.id


@pytest.fixture(scope="module")
def scene(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with LoopbackDns() as dns, fresh_database_url(engine_name, str(tmp_path_factory.mktemp("pages"))) as url:
        db = migrated_database(url)
        names = {"a": "Owner A", "b": "Delegatee B", "c": "Stranger C"}
        a, b, c = (identity.create_account(db, CLI, names[k]).id for k in "abc")
        viewer, outsider = make_member(db, "viewer"), make_member(db, "outsider")
        for account in (a, b):
            identity.add_member(db, CLI, account, viewer.email, ["Administrator"])
        identity.add_member(db, CLI, b, outsider.email, ["Administrator"])
        cidr = unique_v4_prefix()
        net = cidr.removesuffix("0/24")
        p = prefixes.create_prefix(db, CLI, a, cidr, asn=64500)
        prefixes.approve_prefix(db, CLI, p.id)
        whole = bindings.create_binding(db, CLI, a, p.id, cidr, SPECTRUM.id)
        upper = bindings.create_binding(db, CLI, a, p.id, f"{net}128/25", CDN.id)
        delegations.create_delegation(db, CLI, a, p.id, f"{net}0/26", b)
        delegations.create_delegation(db, CLI, a, p.id, f"{net}64/26", c)
        delegations.create_delegation(db, CLI, a, p.id, f"{net}128/26", c)
        zone = {
            k: zones.create_zone(db, CLI, acct, f"{k}{secrets.token_hex(4)}.example.com")
            for k, acct in zip("abc", (a, b, c), strict=True)
        }
        b_app = app_on(db, zone["b"].id, zone["b"].name, f"{net}5", "tcp/22", "ssh")
        c_app = app_on(db, zone["c"].id, zone["c"].name, f"{net}70", "tcp/443", "tls")
        c_host = active_hostname(db, dns, zone["c"].id, f"shop-{secrets.token_hex(3)}.example.net", f"{net}130")
        a_host = active_hostname(db, dns, zone["a"].id, f"www-{secrets.token_hex(3)}.example.net", f"{net}200")
        yield Scene(
            db=db,
            viewer=actor_of(db, viewer.email),
            outsider=actor_of(db, outsider.email),
            a=a,
            b=b,
            c=c,
            names={a: names["a"], b: names["b"], c: names["c"]},
            prefix_id=p.id,
            net=net,
            spectrum_binding=whole.id,
            cdn_binding=upper.id,
            b_app=b_app,
            c_app=c_app,
            a_host=a_host,
            c_host=c_host,
            c_zone_name=zone["c"].name,
        )
        db.dispose()


def test_the_edit_page_names_only_the_viewers_accounts_and_offers_only_its_other_ones(scene: Scene) -> None:
    view = prefix_page(scene.db, scene.viewer, scene.a, scene.prefix_id)
    assert [(str(r.delegation.cidr), r.account) for r in view.delegations] == [
        (f"{scene.net}0/26", "Delegatee B"),
        (f"{scene.net}64/26", scene.c),  # the viewer is not in C: its id, as the API gives the owner
        (f"{scene.net}128/26", scene.c),
    ]
    assert [a.name for a in view.candidates] == ["Delegatee B"]
    assert view.may_edit and view.approval == "Approved"
    assert [(str(b.cidr), b.service.name) for b in view.bindings] == [
        (f"{scene.net}0/24", "Spectrum"),
        (f"{scene.net}128/25", "CDN"),
    ]


def test_the_map_marks_every_app_and_hostname_but_names_only_the_viewers_own(scene: Scene) -> None:
    cells = {c.ip: c for c in prefix_page(scene.db, scene.viewer, scene.a, scene.prefix_id).map.cells}
    assert len(cells) == 256
    n = scene.net
    b_app, c_app, c_host, a_host = cells[f"{n}5"], cells[f"{n}70"], cells[f"{n}130"], cells[f"{n}200"]
    assert (b_app.state, b_app.account, b_app.marks, b_app.binding) == ("delegated", scene.b, "spectrum", "Spectrum")
    assert "delegated to Delegatee B" in b_app.tooltip
    assert "Spectrum app tcp/22 (ssh." in b_app.tooltip
    assert (c_app.state, c_app.account, c_app.marks) == ("delegated", scene.c, "spectrum")
    assert "Spectrum app tcp/443" in c_app.tooltip and scene.c_zone_name not in c_app.tooltip
    assert (c_host.marks, c_host.binding) == ("hostname", "CDN")
    assert "active custom hostname" in c_host.tooltip and "shop-" not in c_host.tooltip
    assert (a_host.state, a_host.marks) == ("owned", "hostname")
    assert "custom hostname www-" in a_host.tooltip
    assert {c.state for ip, c in cells.items() if int(ip.rsplit(".", 1)[1]) >= 192} == {"owned"}
    legend = prefix_page(scene.db, scene.viewer, scene.a, scene.prefix_id).map.colours
    assert [k.label for k in legend] == [
        "Not delegated: this account's own",
        "Delegated to Delegatee B",
        f"Delegated to {scene.c}",
    ]


def test_binding_impact_lists_what_would_lose_the_service_and_changes_nothing(scene: Scene) -> None:
    binding, impact = bindings.binding_impact(scene.db, scene.viewer, scene.a, scene.prefix_id, scene.cdn_binding)
    assert str(binding.cidr) == f"{scene.net}128/25"
    # Without the CDN /25 its addresses fall back to Spectrum: both hostnames there lose CDN, no app is hit.
    assert sorted(h.host.id for h in impact.hostnames) == sorted([scene.a_host, scene.c_host])
    assert impact.apps == [] and impact.maps == [] and impact
    _, whole = bindings.binding_impact(scene.db, scene.viewer, scene.a, scene.prefix_id, scene.spectrum_binding)
    assert sorted(a.app.id for a in whole.apps) == sorted([scene.b_app, scene.c_app]) and whole.hostnames == []

    with pytest.raises(Conflict) as refused:
        bindings.delete_binding(scene.db, scene.viewer, scene.a, scene.prefix_id, scene.spectrum_binding)
    listed = " ".join(message for _, message in refused.value.details)
    assert scene.b_app in listed and scene.c_app in listed
    assert len(bindings.list_bindings(scene.db, CLI, scene.a, scene.prefix_id)) == 2  # nothing changed

    removal = binding_removal(scene.db, scene.viewer, scene.a, scene.prefix_id, scene.spectrum_binding)
    assert removal.subject == f"the binding of {scene.net}0/24 to Spectrum" and removal.may_remove
    lines = {line.account: line for line in removal.lines}
    assert lines["Delegatee B"].name.startswith(f"{scene.b_app} (tcp/22, ssh.")
    assert lines[scene.c].name == f"{scene.c_app} (tcp/443)"  # another tenant's app: kind and port only
    assert {line.outcome for line in removal.lines} == {"would be blocked"}


def test_binding_impact_refuses_strangers_and_unknown_bindings(scene: Scene) -> None:
    with pytest.raises(AccessDenied):
        bindings.binding_impact(scene.db, scene.outsider, scene.a, scene.prefix_id, scene.cdn_binding)
    with pytest.raises(NotFound):
        bindings.binding_impact(scene.db, scene.viewer, scene.a, scene.prefix_id, "0" * 32)
    with pytest.raises(NotFound):
        bindings.binding_impact(scene.db, scene.viewer, scene.b, scene.prefix_id, scene.cdn_binding)


def test_the_delegation_removal_names_the_delegatees_app(scene: Scene) -> None:
    given = delegations.list_delegations(scene.db, CLI, scene.a, scene.prefix_id, PageRequest()).items
    to_b = next(d for d in given if d.delegated_account_id == scene.b)
    removal = delegation_removal(scene.db, scene.viewer, scene.a, scene.prefix_id, to_b.id)
    assert removal.subject == f"the delegation of {scene.net}0/26 to Delegatee B"
    assert [(line.kind, line.account, line.ips, line.outcome) for line in removal.lines] == [
        ("Spectrum app", "Delegatee B", f"{scene.net}5", "would be blocked")
    ]


def test_the_delegatee_sees_its_received_delegations_with_the_owners_name(scene: Scene) -> None:
    rows = received_rows(scene.db, scene.outsider, scene.b)
    assert [(str(r.received.delegation.cidr), r.owner, str(r.received.parent_cidr)) for r in rows] == [
        (f"{scene.net}0/26", "Owner A", f"{scene.net}0/24")
    ]
    with pytest.raises(AccessDenied):
        received_rows(scene.db, scene.outsider, scene.c)

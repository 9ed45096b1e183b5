"""Every change that affects serving takes one feed revision, and its change carries the entity's row as
it now stands; changes that serve nothing take none. On SQLite and PostgreSQL, through the services.

Each test builds what it needs (a prefix of its own from unique_v4_prefix) in one shared database.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest
from sqlalchemy import event

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.adapters.dns.inspector import DnsInspector
from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.domain.hostnames import ACTIVE, PENDING, ownership_record_name
from prefixgate.edge.state import (
    AppRow,
    BindingRow,
    DelegationRow,
    FallbackOriginRow,
    HostnameRow,
    PrefixRow,
    Row,
    ZoneRow,
)
from prefixgate.service import (
    bindings,
    delegations,
    edge_feed,
    hostname_checks,
    hostnames,
    identity,
    prefixes,
    spectrum,
    tokens,
    zones,
)
from prefixgate.service.context import Actor
from tests.db.test_prefix_pages import app_on
from tests.dnsserver import LoopbackDns
from tests.support import fresh_database_url, migrated_database, unique_v4_prefix

CLI = Actor.cli()
T = TypeVar("T")


@pytest.fixture(scope="module")
def db(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlDatabase]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("feed"))) as url:
        database = migrated_database(url)
        yield database
        database.dispose()


@pytest.fixture(scope="module")
def dns() -> Iterator[LoopbackDns]:
    with LoopbackDns() as server:
        yield server


def head(db: SqlDatabase) -> int:
    with db.read() as uow:
        return uow.edge_feed.head().revision


def one_revision(db: SqlDatabase, action: Callable[[], T]) -> tuple[T, dict[tuple[str, str], Row | None]]:
    """Run `action`; it must take exactly one revision. Returns its result and the changes of that revision
    ((kind, id) -> row as it stands now)."""
    before = head(db)
    result = action()
    found = edge_feed.changes_since(db, CLI, before)
    assert found.revision == before + 1, f"took {found.revision - before} revisions"
    assert {c.revision for c in found.changes} == {before + 1}
    return result, {(c.kind, c.id): c.row for c in found.changes}


def no_revision(db: SqlDatabase, action: Callable[[], object]) -> None:
    before = head(db)
    action()
    assert head(db) == before
    assert edge_feed.changes_since(db, CLI, before).changes == ()


@dataclass
class Owner:
    account: str
    other: str
    prefix: str
    cidr: str
    net: str  # "x.y.z."


def owner(db: SqlDatabase, *, approve: bool = True) -> Owner:
    a, b = (identity.create_account(db, CLI, f"Feed {n} {secrets.token_hex(2)}").id for n in "AB")
    cidr = unique_v4_prefix()
    p = prefixes.create_prefix(db, CLI, a, cidr, asn=64500)
    if approve:
        prefixes.approve_prefix(db, CLI, p.id)
    return Owner(a, b, p.id, cidr, cidr.removesuffix("0/24"))


def test_prefix_create_approve_update_validate_and_delete(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Prefixes").id
    cidr = unique_v4_prefix()
    p, changes = one_revision(db, lambda: prefixes.create_prefix(db, CLI, a, cidr, asn=64500))
    assert changes == {("prefix", p.id): PrefixRow(p.id, a, ipaddress.ip_network(cidr), approved=False)}
    _, changes = one_revision(db, lambda: prefixes.edit_prefix(db, CLI, a, p.id, description="edge"))
    assert changes == {("prefix", p.id): PrefixRow(p.id, a, ipaddress.ip_network(cidr), approved=False)}
    _, changes = one_revision(db, lambda: prefixes.validate_prefix(db, CLI, a, p.id))
    assert set(changes) == {("prefix", p.id)}
    _, changes = one_revision(db, lambda: prefixes.approve_prefix(db, CLI, p.id))
    assert changes == {("prefix", p.id): PrefixRow(p.id, a, ipaddress.ip_network(cidr), approved=True)}

    other = prefixes.create_prefix(db, CLI, a, unique_v4_prefix(), asn=64500)  # unapproved: deletable
    bindings.create_binding(db, CLI, a, other.id, str(other.cidr), SPECTRUM.id)
    _, changes = one_revision(db, lambda: prefixes.delete_prefix(db, CLI, a, other.id))
    assert changes == {("prefix", other.id): None}  # its bindings go with it (apply_changes cascades)


def test_delegation_create_delete_and_forced_delete(db: SqlDatabase) -> None:
    o = owner(db)
    bindings.create_binding(db, CLI, o.account, o.prefix, o.cidr, SPECTRUM.id)
    d, changes = one_revision(
        db, lambda: delegations.create_delegation(db, CLI, o.account, o.prefix, f"{o.net}0/26", o.other)
    )
    assert changes == {
        ("delegation", d.id): DelegationRow(d.id, o.prefix, ipaddress.ip_network(f"{o.net}0/26"), o.other)
    }
    _, changes = one_revision(db, lambda: delegations.delete_delegation(db, CLI, o.account, o.prefix, d.id))
    assert changes == {("delegation", d.id): None}

    # Forced: the delegatee's app is blocked in the same revision.
    d2 = delegations.create_delegation(db, CLI, o.account, o.prefix, f"{o.net}0/26", o.other)
    zone = zones.create_zone(db, CLI, o.other, f"d{secrets.token_hex(4)}.example.com")
    app = app_on(db, zone.id, zone.name, f"{o.net}5", "tcp/22", "ssh")
    _, changes = one_revision(
        db, lambda: delegations.delete_delegation(db, CLI, o.account, o.prefix, d2.id, force=True)
    )
    assert set(changes) == {("delegation", d2.id), ("app", app)}
    assert changes[("delegation", d2.id)] is None
    blocked = changes[("app", app)]
    assert isinstance(blocked, AppRow) and blocked.status == "blocked"


def test_binding_create_and_delete(db: SqlDatabase) -> None:
    o = owner(db)
    b, changes = one_revision(db, lambda: bindings.create_binding(db, CLI, o.account, o.prefix, o.cidr, CDN.id))
    assert changes == {("binding", b.id): BindingRow(b.id, o.prefix, ipaddress.ip_network(o.cidr), CDN.id)}
    assert b.revision == head(db)  # the revision that created it
    _, changes = one_revision(db, lambda: bindings.delete_binding(db, CLI, o.account, o.prefix, b.id))
    assert changes == {("binding", b.id): None}


def test_spectrum_app_create_update_block_and_delete(db: SqlDatabase) -> None:
    o = owner(db)
    bindings.create_binding(db, CLI, o.account, o.prefix, o.cidr, SPECTRUM.id)
    zone = zones.create_zone(db, CLI, o.account, f"s{secrets.token_hex(4)}.example.com")
    app_id, changes = one_revision(db, lambda: app_on(db, zone.id, zone.name, f"{o.net}7", "tcp/22", "ssh"))
    row = changes[("app", app_id)]
    assert isinstance(row, AppRow) and set(changes) == {("app", app_id)}
    assert (row.zone_id, row.account_id, row.protocol, row.status) == (zone.id, o.account, "tcp/22", "active")
    assert row.edge_ips == (ipaddress.ip_address(f"{o.net}7"),)

    spec = spectrum.AppInput(
        protocol="tcp/2222",
        dns_type="ADDRESS",
        dns_name=f"ssh.{zone.name}",
        edge_ips_type="static",
        edge_ips=[f"{o.net}7"],
        origin_direct=["tcp://192.0.2.9:22"],
        proxy_protocol="v2",
    )
    _, changes = one_revision(db, lambda: spectrum.update_app(db, CLI, zone.id, app_id, spec))
    row = changes[("app", app_id)]
    assert isinstance(row, AppRow)
    assert (row.protocol, row.origin_direct, row.proxy_protocol) == ("tcp/2222", ("tcp://192.0.2.9:22",), "v2")

    # Blocked by a forced binding delete: the binding goes, the app is blocked, in one revision.
    (binding,) = bindings.list_bindings(db, CLI, o.account, o.prefix)
    _, changes = one_revision(db, lambda: bindings.delete_binding(db, CLI, o.account, o.prefix, binding.id, force=True))
    assert changes[("binding", binding.id)] is None
    row = changes[("app", app_id)]
    assert isinstance(row, AppRow) and row.status == "blocked"

    _, changes = one_revision(db, lambda: spectrum.delete_app(db, CLI, zone.id, app_id))
    assert changes == {("app", app_id): None}


def test_custom_hostname_activate_update_deactivate_and_delete(db: SqlDatabase, dns: LoopbackDns) -> None:
    o = owner(db)
    bindings.create_binding(db, CLI, o.account, o.prefix, o.cidr, CDN.id)
    zone = zones.create_zone(db, CLI, o.account, f"h{secrets.token_hex(4)}.example.com")
    _, changes = one_revision(db, lambda: hostnames.put_fallback_origin(db, CLI, zone.id, f"fallback.{zone.name}"))
    assert changes == {("fallback_origin", zone.id): FallbackOriginRow(zone.id, f"fallback.{zone.name}")}

    name = f"shop-{secrets.token_hex(3)}.example.net"
    host, changes = one_revision(
        db, lambda: hostnames.create_hostname(db, CLI, zone.id, hostnames.HostnameInput(name, hostnames.SslInput()))
    )
    assert changes == {("hostname", host.id): None}  # pending: not in the state
    dns.set(name, "A", f"{o.net}200")
    dns.set(ownership_record_name(name), "TXT", host.ownership_token)
    inspector = DnsInspector(dns.address, 5.0)

    def validate() -> hostnames.CustomHostname:
        return hostname_checks.validate_hostname(db, inspector, CLI, zone.id, host.id)

    checked, changes = one_revision(db, validate)
    assert checked.status == ACTIVE
    assert changes == {("hostname", host.id): HostnameRow(host.id, zone.id, o.account, name, None)}

    edit = hostnames.HostnameEdit(custom_origin_server=f"origin.{zone.name}")
    _, changes = one_revision(db, lambda: hostnames.edit_hostname(db, CLI, zone.id, host.id, edit))
    assert changes == {("hostname", host.id): HostnameRow(host.id, zone.id, o.account, name, f"origin.{zone.name}")}

    no_revision(db, validate)  # still active: nothing the edges serve changed
    dns.delete(ownership_record_name(name))
    dns.set(name, "A", "192.0.2.55")  # moved away from the account's addresses
    checked, changes = one_revision(db, validate)
    assert checked.status == PENDING
    assert changes == {("hostname", host.id): None}

    dns.set(name, "A", f"{o.net}200")
    dns.set(ownership_record_name(name), "TXT", host.ownership_token)
    one_revision(db, validate)
    # Deleting the fallback origin sends the hostname back to pending, in the same revision.
    _, changes = one_revision(db, lambda: hostnames.delete_fallback_origin(db, CLI, zone.id))
    assert changes == {("fallback_origin", zone.id): None, ("hostname", host.id): None}
    _, changes = one_revision(db, lambda: hostnames.delete_hostname(db, CLI, zone.id, host.id))
    assert changes == {("hostname", host.id): None}


def test_zone_create_pause_and_delete(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Zones").id
    zone, changes = one_revision(db, lambda: zones.create_zone(db, CLI, a, f"z{secrets.token_hex(4)}.example.com"))
    assert changes == {("zone", zone.id): ZoneRow(zone.id, a, paused=False)}
    _, changes = one_revision(db, lambda: zones.edit_zone(db, CLI, zone.id, paused=True))
    assert changes == {("zone", zone.id): ZoneRow(zone.id, a, paused=True)}
    _, changes = one_revision(db, lambda: zones.delete_zone(db, CLI, zone.id))
    assert changes == {("zone", zone.id): None}


def test_changes_that_serve_nothing_take_no_revision(db: SqlDatabase) -> None:
    email = f"quiet-{secrets.token_hex(3)}@example.com"
    user, _ = identity.create_user(db, CLI, email, password=None, operator=False)
    account = identity.create_account(db, CLI, "Quiet")
    no_revision(db, lambda: tokens.create_token(db, CLI, "t", user=user))
    member = identity.add_member(db, CLI, account.id, email, ["Administrator"])  # a first Administrator
    no_revision(db, lambda: identity.update_member(db, CLI, account.id, member.id, ["Administrator", "Zone: Write"]))
    other = identity.create_user(db, CLI, f"other-{email}", password=None, operator=False)[0]
    no_revision(db, lambda: identity.add_member(db, CLI, account.id, other.email, ["Administrator"]))
    no_revision(db, lambda: identity.delete_member(db, CLI, account.id, member.id))
    no_revision(db, lambda: edge_feed.create_edge_token(db, CLI, "an edge"))


def test_the_change_of_several_entities_in_one_unit_shares_its_revision(db: SqlDatabase) -> None:
    o = owner(db)
    bindings.create_binding(db, CLI, o.account, o.prefix, o.cidr, SPECTRUM.id)
    zone = zones.create_zone(db, CLI, o.account, f"m{secrets.token_hex(4)}.example.com")
    apps = [app_on(db, zone.id, zone.name, f"{o.net}{i}", "tcp/22", f"a{i}") for i in (10, 11)]
    _, changes = one_revision(db, lambda: zones.delete_zone(db, CLI, zone.id))
    assert changes == {("zone", zone.id): None, ("app", apps[0]): None, ("app", apps[1]): None}


def test_a_change_noted_twice_after_since_appears_once_as_it_stands(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Twice").id
    before = head(db)
    zone = zones.create_zone(db, CLI, a, f"t{secrets.token_hex(4)}.example.com")
    zones.edit_zone(db, CLI, zone.id, paused=True)
    zones.edit_zone(db, CLI, zone.id, paused=False)
    found = edge_feed.changes_since(db, CLI, before)
    assert found.revision == before + 3
    assert [(c.revision, c.kind, c.id) for c in found.changes] == [(before + 3, "zone", zone.id)]
    assert found.changes[0].row == ZoneRow(zone.id, a, paused=False)


def test_a_few_changes_read_only_their_own_rows(db: SqlDatabase) -> None:
    a = identity.create_account(db, CLI, "Few").id
    made = [zones.create_zone(db, CLI, a, f"few{i}-{secrets.token_hex(3)}.example.com") for i in range(5)]
    before = head(db)
    zones.edit_zone(db, CLI, made[2].id, paused=True)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        found = edge_feed.changes_since(db, CLI, before)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert [(c.kind, c.id) for c in found.changes] == [("zone", made[2].id)]
    reads = [s for s in statements if " FROM " in s and "edge_" not in s]
    assert len(reads) == 1 and "FROM zones WHERE zones.id IN (" in reads[0], statements

"""The serving state read from the database (adapters/db/repos/edge_state.py), on SQLite and PostgreSQL.

A owns a /24 bound to Spectrum with its upper /25 overridden to CDN, and delegates .0/26 to B. B runs
a Spectrum app on .5 and A has a custom hostname validated on .200 (loopback DNS); a second hostname
stays pending. The state must hold exactly those rows, survive the wire codec, and `read_rows` must
answer chosen ids the same way.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from prefixgate.adapters.db.repos.edge_state import SqlEdgeStateRepo
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.edge.state import EdgeState, decode_snapshot, encode_snapshot
from prefixgate.service import bindings, delegations, hostnames, identity, prefixes, zones
from prefixgate.service.context import Actor
from tests.db.test_prefix_pages import active_hostname, app_on
from tests.dnsserver import LoopbackDns
from tests.support import fresh_database_url, migrated_database, unique_v4_prefix

CLI = Actor.cli()


@dataclass
class Scene:
    db: SqlDatabase
    a: str
    b: str
    net: str
    prefix_id: str
    zone_a: str
    zone_b: str
    app: str
    host: str
    pending: str


@pytest.fixture(scope="module")
def scene(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with LoopbackDns() as dns, fresh_database_url(engine_name, str(tmp_path_factory.mktemp("edge"))) as url:
        db = migrated_database(url)
        a, b = (identity.create_account(db, CLI, n).id for n in ("Owner A", "Delegatee B"))
        cidr = unique_v4_prefix()
        net = cidr.removesuffix("0/24")
        p = prefixes.create_prefix(db, CLI, a, cidr, asn=64500)
        prefixes.approve_prefix(db, CLI, p.id)
        bindings.create_binding(db, CLI, a, p.id, cidr, SPECTRUM.id)
        bindings.create_binding(db, CLI, a, p.id, f"{net}128/25", CDN.id)
        delegations.create_delegation(db, CLI, a, p.id, f"{net}0/26", b)
        za = zones.create_zone(db, CLI, a, f"a{secrets.token_hex(4)}.example.com")
        zb = zones.create_zone(db, CLI, b, f"b{secrets.token_hex(4)}.example.com")
        app = app_on(db, zb.id, zb.name, f"{net}5", "tcp/22", "ssh")
        host = active_hostname(db, dns, za.id, f"www-{secrets.token_hex(3)}.example.net", f"{net}200")
        pending = hostnames.create_hostname(
            db, CLI, za.id, hostnames.HostnameInput(f"wait-{secrets.token_hex(3)}.example.net", hostnames.SslInput())
        ).id
        yield Scene(db, a, b, net, p.id, za.id, zb.id, app, host, pending)
        db.dispose()


def _state(db: SqlDatabase, revision: int = 7) -> EdgeState:
    with db.engine.connect() as conn:
        return SqlEdgeStateRepo(conn).read_state(revision)


def test_the_state_holds_every_row_that_decides_serving(scene: Scene) -> None:
    state = _state(scene.db)
    mine = {k for k, p in state.prefixes.items() if p.account_id == scene.a}
    assert mine == {scene.prefix_id}
    prefix = state.prefixes[scene.prefix_id]
    assert (str(prefix.cidr), prefix.approved) == (f"{scene.net}0/24", True)
    ours = [b for b in state.bindings.values() if b.prefix_id == scene.prefix_id]
    assert sorted((str(b.cidr), b.service_id) for b in ours) == sorted(
        [(f"{scene.net}0/24", SPECTRUM.id), (f"{scene.net}128/25", CDN.id)]
    )
    (delegation,) = [d for d in state.delegations.values() if d.prefix_id == scene.prefix_id]
    assert (str(delegation.cidr), delegation.delegated_account_id) == (f"{scene.net}0/26", scene.b)
    app = state.apps[scene.app]
    assert (app.account_id, app.zone_id, app.protocol, app.status) == (scene.b, scene.zone_b, "tcp/22", "active")
    assert app.edge_ips == (ipaddress.ip_address(f"{scene.net}5"),)
    assert app.origin_direct == ("tcp://192.0.2.1:22",) and app.proxy_protocol == "off"
    assert scene.host in state.hostnames and scene.pending not in state.hostnames  # only active hostnames
    assert state.hostnames[scene.host].account_id == scene.a
    assert state.fallback_origins[scene.zone_a].origin.startswith("fallback.")
    assert state.zones[scene.zone_b].paused is False and state.revision == 7


def test_the_state_survives_the_wire_codec(scene: Scene) -> None:
    state = _state(scene.db, 11)
    assert decode_snapshot(encode_snapshot(state)) == state


def test_read_rows_answers_chosen_ids_as_the_whole_read_does(scene: Scene) -> None:
    state = _state(scene.db)
    with scene.db.engine.connect() as conn:
        repo = SqlEdgeStateRepo(conn)
        assert repo.read_rows("app", [scene.app, "0" * 32]) == {scene.app: state.apps[scene.app]}
        assert repo.read_rows("hostname", [scene.host, scene.pending]) == {scene.host: state.hostnames[scene.host]}
        assert repo.read_rows("fallback_origin", [scene.zone_a, scene.zone_b]) == {
            scene.zone_a: state.fallback_origins[scene.zone_a]
        }
        assert repo.read_rows("prefix", [scene.prefix_id]) == {scene.prefix_id: state.prefixes[scene.prefix_id]}
        assert repo.read_rows("zone", []) == {}

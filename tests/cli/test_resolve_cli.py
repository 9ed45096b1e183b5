"""`prefixgate resolve` prints the same decision object as GET /client/v4/edge/resolve."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from prefixgate.domain.bindings import SPECTRUM
from prefixgate.service import bindings, delegations, identity, prefixes, spectrum, zones
from prefixgate.service.context import Actor
from prefixgate.service.spectrum import AppInput
from prefixgate.settings import Settings
from tests.procserver import EXE
from tests.support import Server, fresh_database_url, make_member


@pytest.fixture
def scene(engine_name: str, tmp_path: Path) -> Iterator[tuple[Server, str, str]]:
    """A's 1.2.3.0/24 (approved, bound to Spectrum), .4 delegated to B, B's app on .4 tcp/22."""
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        server = Server(Settings(database_url=url)).start()
        db, cli = server.db, Actor.cli()
        a = identity.create_account(db, cli, "A").id
        b = identity.create_account(db, cli, "B").id
        p = prefixes.create_prefix(db, cli, a, "1.2.3.0/24", asn=13335)
        prefixes.approve_prefix(db, cli, p.id)
        bindings.create_binding(db, cli, a, p.id, "1.2.3.0/24", SPECTRUM.id)
        delegations.create_delegation(db, cli, a, p.id, "1.2.3.4/32", b)
        zone = zones.create_zone(db, cli, b, "b.example.com")
        spec = AppInput(
            protocol="tcp/22",
            dns_type="ADDRESS",
            dns_name="ssh.b.example.com",
            edge_ips_type="static",
            edge_ips=("1.2.3.4",),
            origin_direct=("tcp://192.0.2.1:22",),
        )
        app = spectrum.create_app(db, cli, zone.id, spec)
        operator = make_member(db, "op", operator=True)
        yield server, operator.token, app.id
        server.stop()


@pytest.mark.parametrize(
    ("ip", "port", "protocol"),
    [("1.2.3.4", 22, "tcp"), ("1.2.3.4", 23, "tcp"), ("1.2.3.4", 22, "udp"), ("1.2.3.5", 22, "tcp")],
)
def test_cli_prints_what_the_api_answers(scene: tuple[Server, str, str], ip: str, port: int, protocol: str) -> None:
    server, token, app_id = scene
    out = subprocess.run(
        [
            EXE,
            "resolve",
            "--ip",
            ip,
            "--port",
            str(port),
            "--protocol",
            protocol,
            "--database-url",
            server.settings.database_url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    printed = json.loads(out.stdout)
    api = httpx.get(
        f"{server.api}/edge/resolve",
        params={"ip": ip, "port": port, "protocol": protocol},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["result"]
    assert printed == api
    served = (ip, port, protocol) == ("1.2.3.4", 22, "tcp")
    assert printed["served"] is served
    assert printed["reason"] == ("served" if served else "no_app")
    assert printed["id"] == (app_id if served else None)


def test_cli_refuses_bad_questions_with_a_json_error(scene: tuple[Server, str, str]) -> None:
    server, _, _ = scene
    out = subprocess.run(
        [EXE, "resolve", "--ip", "not-an-ip", "--port", "22", "--database-url", server.settings.database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stdout == ""
    assert json.loads(out.stderr)["error"]["code"] == 1500

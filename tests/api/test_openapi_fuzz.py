"""Schemathesis against the service's own OpenAPI document, over real HTTP.

Every operation is fuzzed with Alice's token and her account id in the path, so requests reach real
handlers instead of stopping at authentication. Other ids, CIDRs, IPs, emails, roles and zones are, half
the time, real values of her account, so the handlers' success paths are fuzzed too.
Checks: no 5xx, only documented status codes and content types, bodies that match the declared
schemas. The fuzzer runs against its own fresh database, so whatever it manages to create cannot
collide with the prefixes other tests use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from prefixgate.settings import Settings
from tests.support import Server, World, fresh_database_url, make_world

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass
class Target:
    server: Server
    world: World
    schema: Any
    real: dict[str, list[Any]]  # input name -> values that reach the handlers' success paths


@pytest.fixture(scope="module")
def target(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A fresh server whose database the fuzzer may fill, with a world and real objects in Account A."""
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("fuzzdb"))) as url:
        server = Server(Settings(database_url=url)).start()
        world = make_world(server)
        try:
            alice = world.client(world.alice)
            prefix = alice.post(f"/accounts/{world.a}/addressing/prefixes", json={"cidr": "5.9.9.0/24", "asn": 1})
            prefix_id = prefix.json()["result"]["id"]
            world.approve(prefix_id)  # approved: the fuzzer can edit it but never delete it
            delegation = alice.post(
                f"/accounts/{world.a}/addressing/prefixes/{prefix_id}/delegations",
                json={"cidr": "5.9.9.4/32", "delegated_account_id": world.b},
            )
            assert (prefix.status_code, delegation.status_code) == (201, 200), delegation.text
            members = alice.get(f"/accounts/{world.a}/members").json()["result"]
            spare = alice.post("/user/tokens", json={"name": "spare", "policies": []})  # never the one in use
            assert spare.status_code == 200, spare.text
            roles = alice.get(f"/accounts/{world.a}/roles").json()["result"]
            zone = alice.post("/zones", json={"name": "fuzz.example.com", "account": {"id": world.a}})
            assert zone.status_code == 200, zone.text
            address_map = alice.post(
                f"/accounts/{world.a}/addressing/address_maps",
                json={
                    "ips": ["5.9.9.200"],
                    "memberships": [{"kind": "zone", "identifier": zone.json()["result"]["id"]}],
                },
            )
            assert address_map.status_code == 200, address_map.text
            zone_id = zone.json()["result"]["id"]
            fallback = alice.put(
                f"/zones/{zone_id}/custom_hostnames/fallback_origin", json={"origin": "fallback.fuzz.example.com"}
            )
            assert fallback.status_code == 200, fallback.text
            hostname = alice.post(
                f"/zones/{zone_id}/custom_hostnames", json={"hostname": "shop.example.net", "ssl": {"method": "txt"}}
            )
            assert hostname.status_code == 200, hostname.text
            real = {
                "prefix_id": [prefix_id],
                "delegation_id": [delegation.json()["result"]["id"]],
                "member_id": [next(m["id"] for m in members if m["email"] == world.writer.email)],
                "token_id": [spare.json()["result"]["id"]],
                "role_id": [r["id"] for r in roles],
                "roles": [[r["id"]] for r in roles],
                "email": [world.eve.email],
                "cidr": ["5.9.9.8/32", "5.9.9.0/24", "5.9.10.0/24", "2a0f:9::/48"],
                "delegated_account_id": [world.b, world.c],
                "zone_id": [zone.json()["result"]["id"]],
                "account": [{"id": world.a}],
                "name": ["fuzz-2.example.com", "fuzz.example.com"],
                "ip": ["5.9.9.4", "5.9.9.200", "2a0f:9::1"],
                "address_map_id": [address_map.json()["result"]["id"]],
                "ip_address": ["5.9.9.200", "5.9.9.7", "2a0f:9::1"],
                "member_account_id": [world.a, world.b],
                "ips": [["5.9.9.8"], ["5.9.9.9", "5.9.10.1"]],
                "default_sni": ["fuzz.example.com", "*.fuzz.example.com", "other.example.org"],
                "custom_hostname_id": [hostname.json()["result"]["id"]],
                "hostname": ["shop.example.net", "shop-2.example.net", "xn--bcher-kva.example.net"],
                "origin": ["fallback.fuzz.example.com", "edge.fuzz.example.com"],
                "custom_origin_server": ["origin.example.org", ""],
                "sni": ["shop.example.net"],
            }
            schema = schemathesis.openapi.from_url(f"{server.base}/client/v4/openapi.json")
            yield Target(server, world, schema, real)
        finally:
            world.close()
            server.stop()


def fuzz_operation(target: Target, operation: Any, mode: GenerationMode, session: requests.Session) -> None:
    fixed = {"account_id": target.world.a} if "account_id" in operation.path else {}
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)
    headers = target.world.alice.headers

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        body = case.body if isinstance(case.body, dict) else None
        for container in (case.path_parameters, case.query, body):
            for name, choices in target.real.items():
                if container and name in container and data.draw(st.booleans(), label=f"real {name}"):
                    container[name] = data.draw(st.sampled_from(choices), label=name)
        case.call_and_validate(base_url=target.server.base, session=session, headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_openapi_conformance(target: Target, mode: GenerationMode) -> None:
    operations = [result.ok() for result in target.schema.get_all_operations()]
    operations.sort(key=lambda op: op.method == "delete")  # deletions last, so real objects serve the others first
    assert len(operations) >= 25, "the document should describe the whole API"
    failures: list[str] = []
    fuzzed = 0
    with requests.Session() as session:
        for operation in operations:
            try:
                fuzz_operation(target, operation, mode, session)
                fuzzed += 1
            except Unsatisfiable:
                # Negative mode has nothing to break in an operation whose only inputs are free-form strings.
                assert mode is GenerationMode.NEGATIVE, f"{operation.method.upper()} {operation.path}"
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == [], "\n\n".join(failures)
    assert fuzzed >= (len(operations) if mode is GenerationMode.POSITIVE else 12)
    # The fuzzer ran as Alice, and her token still works: nothing it sent broke authentication.
    me = target.world.client(target.world.alice).get("/user")
    assert me.status_code == 200
    assert me.json()["result"]["id"] == target.world.alice.user_id

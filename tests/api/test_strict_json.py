"""Strict JSON (I-JSON, RFC 7493) on every route that takes a body, listed from the OpenAPI document.

Each POST, PUT and PATCH operation is sent, with real ids of the caller's own objects in its path and
a caller allowed to use it: duplicate keys (top level and nested), bytes that are not UTF-8, UTF-16
and UTF-32 text, a byte order mark, and lone surrogate escapes in a value and in a key. Each must be
refused with 400 and code 1000 in the envelope, the message naming the reason, and no table of the
database may change (the server runs on a fresh database of its own, so nothing else writes to it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from prefixgate.adapters.db.tables import metadata
from prefixgate.settings import Settings
from tests.api.helpers import assert_ok, assert_refused, prefixes_url
from tests.api.spectrum_helpers import stage, zone_name
from tests.support import Member, Server, World, fresh_database_url, make_world, unique_v4_prefix

NO_ID = "0" * 32
VOLATILE = {("api_tokens", "last_used_on")}  # reading with a token stamps it; that is not a stored change


@dataclass
class Target:
    server: Server
    world: World
    ids: dict[str, str]  # path parameter -> a real id of Alice's
    operations: list[tuple[str, str, dict[str, Any]]]  # (method, path template, operation)
    schemas: dict[str, Any]


@pytest.fixture(scope="module")
def target(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("strictdb"))) as url:
        server = Server(Settings(database_url=url)).start()
        world = make_world(server)
        try:
            s = stage(world)
            app = s.create_app("a", s.ip(4))
            members = httpx.get(f"{server.api}/accounts/{world.a}/members", headers=world.alice.headers, timeout=30)
            address_map = httpx.post(
                f"{server.api}/accounts/{world.a}/addressing/address_maps",
                json={"ips": [s.ip(5)]},
                headers=world.alice.headers,
                timeout=30,
            )
            zone_id = s.zones["a"]["id"]
            fallback = httpx.put(
                f"{server.api}/zones/{zone_id}/custom_hostnames/fallback_origin",
                json={"origin": f"fallback.{s.zones['a']['name']}"},
                headers=world.alice.headers,
                timeout=30,
            )
            assert fallback.status_code == 200, fallback.text
            hostname = httpx.post(
                f"{server.api}/zones/{zone_id}/custom_hostnames",
                json={"hostname": "shop.example.net", "ssl": {"method": "txt"}},
                headers=world.alice.headers,
                timeout=30,
            )
            assert hostname.status_code == 200, hostname.text
            ids = {
                "custom_hostname_id": hostname.json()["result"]["id"],
                "account_id": world.a,
                "prefix_id": s.pid,
                "zone_id": s.zones["a"]["id"],
                "app_id": app["id"],
                "member_id": members.json()["result"][0]["id"],
                "address_map_id": address_map.json()["result"]["id"],
                "ip_address": s.ip(6),
                "member_account_id": world.a,
            }
            doc = assert_ok_doc(httpx.get(f"{server.api}/openapi.json", timeout=30))
            operations = [
                (method.upper(), path, op)
                for path, ops in doc["paths"].items()
                for method, op in ops.items()
                if method in ("post", "put", "patch")
            ]
            yield Target(server, world, ids, operations, doc.get("components", {}).get("schemas", {}))
        finally:
            world.close()
            server.stop()


def assert_ok_doc(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def database_state(server: Server) -> dict[str, list[str]]:
    """Every row of every table, less the columns that reading alone stamps."""
    state: dict[str, list[str]] = {}
    with server.db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            cols = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
            state[table.name] = sorted(repr(tuple(row)) for row in conn.execute(select(*cols)))
    return state


def field_name(target: Target, op: dict[str, Any]) -> str:
    """A field the operation's body really has (its first required one), so duplicates hit a real key."""
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = target.schemas[schema["$ref"].rsplit("/", 1)[-1]]
    names = list(schema.get("required", [])) or list(schema.get("properties", {}))
    return str(names[0]) if names else "name"


def caller(target: Target, method: str, path: str) -> Member:
    w = target.world
    return w.operator if (method, path) == ("POST", "/client/v4/accounts") else w.alice


def url_of(target: Target, path: str) -> str:
    """The document's paths carry the base path already: an absolute URL on the server."""
    return target.server.base + re.sub(r"\{(\w+)\}", lambda m: target.ids.get(m.group(1), NO_ID), path)


# name -> (body for a field name, the reason the message must carry)
CASES: dict[str, tuple[Any, str]] = {
    "duplicate-top": (lambda k: f'{{"{k}": "a", "other": 1, "{k}": "b"}}'.encode(), "duplicate key '{k}'"),
    "duplicate-nested": (lambda k: f'{{"{k}": [{{"x": {{"id": 1, "id": 2}}}}]}}'.encode(), "duplicate key 'id'"),
    "not-utf8": (lambda k: f'{{"{k}": "'.encode() + b'\xff"}', "not UTF-8"),
    "utf16": (lambda k: f'{{"{k}": "x"}}'.encode("utf-16"), "not UTF-8"),
    "utf32": (lambda k: f'{{"{k}": "x"}}'.encode("utf-32"), "not UTF-8"),
    "utf8-bom": (lambda k: b"\xef\xbb\xbf" + f'{{"{k}": "x"}}'.encode(), "byte order mark"),
    "lone-surrogate-value": (lambda k: f'{{"{k}": "a\\ud800b"}}'.encode(), "lone surrogate"),
    "lone-surrogate-key": (lambda k: f'{{"{k}": "x", "\\udfff": 1}}'.encode(), "lone surrogate"),
    "reversed-pair": (lambda k: f'{{"{k}": "\\ude00\\ud83d"}}'.encode(), "lone surrogate"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_body_route_refuses_non_strict_json(target: Target, case: str) -> None:
    build, reason = CASES[case]
    paths = {(m, p) for m, p, _ in target.operations}
    assert ("POST", "/client/v4/zones") in paths and (
        "PUT",
        "/client/v4/zones/{zone_id}/spectrum/apps/{app_id}",
    ) in paths
    assert len(target.operations) >= 12, "the document should list every write route"
    failures: list[str] = []
    for method, path, op in target.operations:
        key = field_name(target, op)
        client = target.world.client(caller(target, method, path))
        before = database_state(target.server)
        r = client.request(
            method, url_of(target, path), content=build(key), headers={"content-type": "application/json"}
        )
        try:
            message = assert_refused(r, 400, 1000, "not valid JSON")
            assert reason.format(k=key) in message, message
            assert database_state(target.server) == before, "a refused request changed the database"
        except AssertionError as exc:
            failures.append(f"{method} {path}: {exc}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("ctype", ["application/merge-patch+json", "application/json; charset=utf-8"])
def test_strict_on_every_json_media_type(target: Target, ctype: str) -> None:
    r = target.world.client(target.world.alice).post(
        prefixes_url(target.world.a),
        content=b'{"cidr": "5.0.0.0/24", "asn": 1, "asn": 2}',
        headers={"content-type": ctype},
    )
    assert_refused(r, 400, 1000, "duplicate key 'asn'")


@pytest.mark.parametrize("ctype", [None, "text/plain"])
def test_body_not_sent_as_json_is_refused(target: Target, ctype: str | None) -> None:
    """FastAPI reads a body as JSON only under a JSON media type; anything else is refused, never parsed leniently."""
    before = database_state(target.server)
    r = target.world.client(target.world.alice).post(
        prefixes_url(target.world.a),
        content=f'{{"cidr": "{unique_v4_prefix()}", "asn": 1}}'.encode(),
        headers={"content-type": ctype} if ctype else {},
    )
    assert_refused(r, 400, 1000, "Content-Type: application/json")
    assert database_state(target.server) == before


def test_paired_surrogates_and_escaped_backslashes_are_accepted(target: Target) -> None:
    alice = target.world.client(target.world.alice)
    body = b'{"cidr": "%s", "asn": 1, "description": "\\ud83d\\ude00 \\\\ud800"}' % unique_v4_prefix().encode()
    created = assert_ok(
        alice.post(prefixes_url(target.world.a), content=body, headers={"content-type": "application/json"}), 201
    )
    assert created["description"] == "\U0001f600 \\ud800"


def test_unknown_fields_are_still_ignored(target: Target) -> None:
    """As on Cloudflare: a field the schema does not know is dropped, not refused."""
    alice = target.world.client(target.world.alice)
    cidr = unique_v4_prefix()
    prefix = assert_ok(alice.post(prefixes_url(target.world.a), json={"cidr": cidr, "asn": 1, "colour": "red"}), 201)
    assert prefix["cidr"] == cidr and "colour" not in prefix
    name = zone_name("unknown")
    zone = assert_ok(alice.post("/zones", json={"name": name, "account": {"id": target.world.a, "x": 1}, "y": [1]}))
    assert zone["name"] == name and "y" not in zone

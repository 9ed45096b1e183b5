"""GET /accounts/{id}/audit_logs and /user/audit_logs: Cloudflare's shape, what is recorded, and replay."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cloudflare import Cloudflare

from tests.support import Member, World, unique_v4_prefix

Event = dict[str, Any]
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
READ_ROLE = "IP Prefixes: Read"


def account_log(world: World, who: Member, account_id: str, direction: str = "asc") -> list[Event]:
    r = world.client(who).get(f"/accounts/{account_id}/audit_logs", params={"direction": direction, "per_page": 1000})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    assert body["result_info"]["count"] == len(body["result"]) == body["result_info"]["total_count"]
    events: list[Event] = body["result"]
    return events


def user_log(world: World, who: Member) -> list[Event]:
    r = world.client(who).get("/user/audit_logs", params={"direction": "asc", "per_page": 1000})
    assert r.status_code == 200, r.text
    events: list[Event] = r.json()["result"]
    return events


def actions(events: list[Event], resource_id: str) -> list[str]:
    return [e["action"]["type"] for e in events if e["resource"]["id"] == resource_id]


def only(events: list[Event], action: str, resource_id: str) -> Event:
    [event] = [e for e in events if e["action"]["type"] == action and e["resource"]["id"] == resource_id]
    return event


def create_prefix(world: World, who: Member, account_id: str) -> dict[str, Any]:
    r = world.client(who).post(
        f"/accounts/{account_id}/addressing/prefixes", json={"cidr": unique_v4_prefix(), "asn": 13335}
    )
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()["result"]
    return result


def delegate(world: World, prefix: dict[str, Any], cidr: str, to: str) -> dict[str, Any]:
    r = world.client(world.alice).post(
        f"/accounts/{world.a}/addressing/prefixes/{prefix['id']}/delegations",
        json={"cidr": cidr, "delegated_account_id": to},
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()["result"]
    return result


def undelegate(world: World, prefix: dict[str, Any], delegation_id: str) -> None:
    r = world.client(world.alice).delete(
        f"/accounts/{world.a}/addressing/prefixes/{prefix['id']}/delegations/{delegation_id}"
    )
    assert r.status_code == 200, r.text


def in_prefix(prefix: dict[str, Any], last_octet: int, length: int = 32) -> str:
    return str(prefix["cidr"]).replace(".0/24", f".{last_octet}/{length}")


def test_event_shape_is_cloudflares(world: World) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    prefix = create_prefix(world, world.alice, world.a)
    e = only(account_log(world, world.alice, world.a), "prefix.created", prefix["id"])
    assert {"id", "action", "actor", "interface", "owner", "resource", "when", "oldValue", "newValue"} <= set(e)
    assert {"newValueJson", "oldValueJson", "metadata"} <= set(e)
    assert re.fullmatch(r"[0-9a-f]{32}", e["id"])
    assert e["action"] == {"type": "prefix.created", "result": True}
    assert e["actor"] == {"id": world.alice.user_id, "email": world.alice.email, "type": "user", "ip": "127.0.0.1"}
    assert e["interface"] == "API"
    assert e["owner"] == {"id": world.a}
    assert e["resource"] == {"id": prefix["id"], "type": "prefix"}
    assert RFC3339_UTC.fullmatch(e["when"]), e["when"]
    when = datetime.fromisoformat(e["when"].replace("Z", "+00:00"))
    assert before <= when <= datetime.now(UTC) + timedelta(seconds=5)
    # The new value is the very record the API returned, as a JSON string and as JSON.
    assert e["oldValue"] is None
    assert e["oldValueJson"] is None
    assert isinstance(e["newValue"], str)
    assert json.loads(e["newValue"]) == e["newValueJson"] == prefix


def test_official_sdk_reads_the_account_log(world: World) -> None:
    prefix = create_prefix(world, world.alice, world.a)
    with Cloudflare(api_token=world.alice.token, base_url=world.server.api, max_retries=0) as cf:
        events = list(cf.audit_logs.list(account_id=world.a, direction="asc"))
    [e] = [x for x in events if x.resource is not None and x.resource.id == prefix["id"]]
    assert e.action is not None
    assert (e.action.type, e.action.result) == ("prefix.created", True)
    assert e.actor is not None
    assert (e.actor.id, e.actor.email, e.actor.type) == (world.alice.user_id, world.alice.email, "user")
    assert e.when is not None
    assert e.when.tzinfo is not None
    assert e.new_value is not None
    assert json.loads(e.new_value)["cidr"] == prefix["cidr"]


def test_prefix_lifecycle_events(world: World) -> None:
    alice = world.client(world.alice)
    p, q = create_prefix(world, world.alice, world.a), create_prefix(world, world.alice, world.a)
    base = f"/accounts/{world.a}/addressing/prefixes"
    assert alice.patch(f"{base}/{p['id']}", json={"description": "edge"}).status_code == 200
    world.approve(p["id"])
    assert alice.post(f"{base}/{q['id']}/validate").status_code == 200
    assert alice.delete(f"{base}/{q['id']}").status_code == 200

    log = account_log(world, world.alice, world.a)
    assert actions(log, p["id"]) == ["prefix.created", "prefix.updated", "prefix.approved"]
    assert actions(log, q["id"]) == ["prefix.created", "prefix.validation_requested", "prefix.deleted"]
    validated = only(log, "prefix.validation_requested", q["id"])
    assert validated["oldValueJson"] == q
    assert validated["newValueJson"]["ownership_validation_state"] == "pending"
    assert validated["newValueJson"]["modified_at"] > q["modified_at"]

    edited = only(log, "prefix.updated", p["id"])
    assert (edited["oldValueJson"]["description"], edited["newValueJson"]["description"]) == ("", "edge")
    assert json.loads(edited["oldValue"]) == edited["oldValueJson"]

    approved = only(log, "prefix.approved", p["id"])
    assert (approved["oldValueJson"]["approved"], approved["newValueJson"]["approved"]) == ("P", "V")
    assert approved["actor"]["type"] == "admin"  # the operator's CLI
    assert approved["interface"] == "CLI"
    assert approved["actor"]["id"] is None

    deleted = only(log, "prefix.deleted", q["id"])
    assert deleted["newValue"] is None
    assert deleted["oldValueJson"]["cidr"] == q["cidr"]
    assert deleted["actor"]["email"] == world.alice.email


def test_delegation_events_in_owner_and_delegatee_logs(world: World) -> None:
    p = create_prefix(world, world.alice, world.a)
    world.approve(p["id"])
    d = delegate(world, p, in_prefix(p, 4), world.b)
    undelegate(world, p, d["id"])

    for who, account in ((world.alice, world.a), (world.bob, world.b)):
        log = account_log(world, who, account)
        assert actions(log, d["id"]) == ["delegation.created", "delegation.deleted"]
        created, deleted = only(log, "delegation.created", d["id"]), only(log, "delegation.deleted", d["id"])
        assert created["owner"] == deleted["owner"] == {"id": account}
        assert created["resource"] == {"id": d["id"], "type": "delegation"}
        assert created["newValueJson"] == d
        assert deleted["oldValueJson"] == d
        assert created["metadata"] == deleted["metadata"] == {"prefix_cidr": p["cidr"]}
        assert created["actor"]["id"] == world.alice.user_id
        # another tenant's copy names the actor by id only: no email, no IP address
        own = account == world.a
        assert created["actor"]["email"] == (world.alice.email if own else None)
        assert (created["actor"]["ip"] is not None) is own

    # The delegatee sees the delegation's events, not the owner's other business; others see nothing.
    assert actions(account_log(world, world.bob, world.b), p["id"]) == []
    assert actions(account_log(world, world.eve, world.c), d["id"]) == []
    assert world.client(world.bob).get(f"/accounts/{world.a}/audit_logs").status_code == 403
    assert actions(account_log(world, world.reader, world.a), d["id"]) == ["delegation.created", "delegation.deleted"]


def test_member_events(world: World) -> None:
    alice = world.client(world.alice)
    r = alice.post(f"/accounts/{world.a}/members", json={"email": world.bob.email, "roles": [READ_ROLE]})
    assert r.status_code == 200, r.text
    member = r.json()["result"]
    assert alice.delete(f"/accounts/{world.a}/members/{member['id']}").status_code == 200

    log = account_log(world, world.alice, world.a)
    assert actions(log, member["id"]) == ["member.created", "member.deleted"]
    added, removed = only(log, "member.created", member["id"]), only(log, "member.deleted", member["id"])
    assert added["resource"] == {"id": member["id"], "type": "member"}
    assert added["newValueJson"] == removed["oldValueJson"] == member
    assert added["actor"]["id"] == world.alice.user_id
    # The world's own setup was logged too: the owner, the reader and the writer joining, by the CLI.
    setup = [e["newValueJson"]["email"] for e in log if e["action"]["type"] == "member.created"][:3]
    assert setup == [world.alice.email, world.reader.email, world.writer.email]
    assert [e["interface"] for e in log[:3]] == ["CLI"] * 3


def test_token_events_in_user_log(world: World) -> None:
    alice = world.client(world.alice)
    r = alice.post("/user/tokens", json={"name": "audited", "policies": []})
    assert r.status_code == 200, r.text
    token = r.json()["result"]
    assert alice.delete(f"/user/tokens/{token['id']}").status_code == 200

    log = user_log(world, world.alice)
    assert actions(log, token["id"]) == ["token.created", "token.deleted"]
    created = only(log, "token.created", token["id"])
    assert created["owner"] == {"id": world.alice.user_id}
    assert created["resource"] == {"id": token["id"], "type": "token"}
    assert created["newValueJson"]["name"] == "audited"
    assert token["value"] not in json.dumps(log)  # a secret is never logged
    assert only(log, "token.deleted", token["id"])["oldValueJson"]["id"] == token["id"]
    # The fixture's token was made at the CLI; Bob's log holds none of Alice's tokens.
    assert log[0]["action"]["type"] == "token.created"
    assert log[0]["interface"] == "CLI"
    assert actions(user_log(world, world.bob), token["id"]) == []
    assert actions(account_log(world, world.alice, world.a), token["id"]) == []


def test_refused_requests_write_no_event(world: World) -> None:
    alice, bob, eve = world.client(world.alice), world.client(world.bob), world.client(world.eve)
    reader = world.client(world.reader)
    p = create_prefix(world, world.alice, world.a)
    world.approve(p["id"])
    d = delegate(world, p, in_prefix(p, 4), world.b)

    def every_log() -> list[list[Event]]:
        owners = ((world.alice, world.a), (world.bob, world.b), (world.eve, world.c))
        return [account_log(world, who, acct) for who, acct in owners] + [
            user_log(world, who) for who in (world.alice, world.bob)
        ]

    before = every_log()

    prefixes = f"/accounts/{world.a}/addressing/prefixes"
    dels = f"{prefixes}/{p['id']}/delegations"
    refusals = [
        (alice.post(dels, json={"cidr": in_prefix(p, 4), "delegated_account_id": world.b}), 409),
        (alice.post(dels, json={"cidr": in_prefix(p, 4, 24), "delegated_account_id": world.b}), 400),
        (alice.post(dels, json={"cidr": in_prefix(p, 5), "delegated_account_id": world.a}), 400),
        (alice.delete(f"{prefixes}/{p['id']}"), 409),
        (reader.patch(f"{prefixes}/{p['id']}", json={"description": "x"}), 403),
        (bob.delete(f"{dels}/{d['id']}"), 403),
        (eve.post(f"/accounts/{world.c}/addressing/prefixes", json={"cidr": p["cidr"], "asn": 1}), 409),
        (alice.post(f"/accounts/{world.a}/members", json={"email": world.reader.email, "roles": [READ_ROLE]}), 409),
        (alice.post("/user/tokens", json={"name": "scoped", "policies": [{"effect": "allow"}]}), 400),
        (bob.post("/user/tokens", json={"name": ""}), 400),
    ]
    for response, status in refusals:
        assert response.status_code == status, response.text
        assert response.json()["success"] is False

    assert every_log() == before


def test_direction_and_paging(world: World) -> None:
    for _ in range(3):
        create_prefix(world, world.alice, world.a)
    asc, desc = account_log(world, world.alice, world.a, "asc"), account_log(world, world.alice, world.a, "desc")
    assert len(asc) >= 6
    assert [e["id"] for e in desc] == [e["id"] for e in reversed(asc)]
    whens = [e["when"] for e in asc]
    assert whens == sorted(whens)  # fixed-width RFC 3339 in UTC sorts as time does
    assert asc[0]["action"]["type"] == "member.created"
    assert asc[-1]["action"]["type"] == "prefix.created"
    default = world.client(world.alice).get(f"/accounts/{world.a}/audit_logs").json()["result"]
    assert [e["id"] for e in default] == [e["id"] for e in desc]  # newest first unless asked

    paged: list[Event] = []
    for page in range(1, 10):
        r = world.client(world.alice).get(
            f"/accounts/{world.a}/audit_logs", params={"direction": "asc", "per_page": 2, "page": page}
        )
        assert r.status_code == 200
        if not r.json()["result"]:
            break
        paged += r.json()["result"]
    assert [e["id"] for e in paged] == [e["id"] for e in asc]
    bad = world.client(world.alice).get(f"/accounts/{world.a}/audit_logs", params={"direction": "sideways"})
    assert bad.status_code == 400


@pytest.mark.parametrize("rounds", [1, 3])
def test_replaying_delegation_events_reproduces_the_delegations(world: World, rounds: int) -> None:
    prefixes = [create_prefix(world, world.alice, world.a) for _ in range(2)]
    for p in prefixes:
        world.approve(p["id"])
        delegate(world, p, p["cidr"], world.c)
    for r in range(rounds):
        for p in prefixes:
            delegate(world, p, in_prefix(p, 10 + r), world.b)
            drop = delegate(world, p, in_prefix(p, 20 + r), world.c)
            undelegate(world, p, drop["id"])

    def replay(events: list[Event]) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for e in events:
            if e["action"]["type"] == "delegation.created":
                state[e["resource"]["id"]] = e["newValueJson"]
            elif e["action"]["type"] == "delegation.deleted":
                del state[e["resource"]["id"]]
        return state

    current: dict[str, Any] = {}
    for p in prefixes:
        listed = world.client(world.alice).get(f"/accounts/{world.a}/addressing/prefixes/{p['id']}/delegations")
        current |= {d["id"]: d for d in listed.json()["result"]}
    assert len(current) == 2 * rounds + 2
    assert replay(account_log(world, world.alice, world.a)) == current

    # Each delegatee's own log replays to exactly what it received.
    for who, acct in ((world.bob, world.b), (world.eve, world.c)):
        got = world.client(who).get(f"/accounts/{acct}/addressing/received_delegations").json()["result"]
        fields = {d["id"]: {k: d[k] for k in current[d["id"]]} for d in got}
        assert replay(account_log(world, who, acct)) == fields


def test_cloudflare_filters(world: World) -> None:
    """id, action.type, actor.email, actor.ip, since and before narrow the log as Cloudflare's do."""
    alice = world.client(world.alice)
    url = f"/accounts/{world.a}/audit_logs"
    p = create_prefix(world, world.alice, world.a)
    assert alice.patch(f"/accounts/{world.a}/addressing/prefixes/{p['id']}", json={"description": "x"}).is_success

    def ids(**params: str) -> list[str]:
        r = alice.get(url, params=params)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["result"]]

    everything = alice.get(url, params={"per_page": 1000}).json()["result"]
    updated = [e for e in everything if e["action"]["type"] == "prefix.updated"]
    assert ids(**{"action.type": "prefix.updated"}) == [e["id"] for e in updated]
    assert ids(id=updated[0]["id"]) == [updated[0]["id"]]
    mine = [e["id"] for e in everything if e["actor"]["email"] == world.alice.email]
    assert mine and ids(**{"actor.email": world.alice.email.upper()}) == mine
    assert ids(**{"actor.ip": "127.0.0.1"}) == mine  # the CLI's setup events carry no IP
    assert ids(**{"actor.email": "nobody@example.com"}) == []
    future = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert ids(since=future) == []
    assert ids(before=future) == [e["id"] for e in everything]
    assert ids(since="2000-01-01T00:00:00Z", **{"action.type": "prefix.created"}) == [
        e["id"] for e in everything if e["action"]["type"] == "prefix.created"
    ]
    r = alice.get(url, params={"since": "yesterday"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == 1001

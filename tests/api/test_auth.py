"""Authentication over real HTTP: bearer tokens, global API keys, and the token lifecycle."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_ok, assert_refused, prefixes_url
from tests.support import Server, World

NO_CREDENTIALS = 10000
BAD_TOKEN = 9109


@pytest.fixture
def anonymous(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.api, timeout=30) as client:
        yield client


def protected(world: World) -> list[tuple[str, str]]:
    return [
        ("GET", "/user"),
        ("GET", "/user/tokens"),
        ("GET", "/user/tokens/verify"),
        ("GET", "/accounts"),
        ("GET", prefixes_url(world.a)),
        ("POST", prefixes_url(world.a)),
        ("GET", f"/accounts/{world.a}/audit_logs"),
    ]


def refused_401(r: httpx.Response, code: int) -> str:
    message = assert_refused(r, 401, code)
    assert r.headers["www-authenticate"] == "Bearer"
    return message


def new_token(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    token: dict[str, Any] = assert_ok(client.post("/user/tokens", json={"name": "second", **fields}))
    return token


def user_of(anonymous: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return anonymous.get("/user", headers=headers)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_missing_credentials_get_401_code_10000(world: World, anonymous: httpx.Client) -> None:
    for method, path in protected(world):
        r = anonymous.request(method, path, json={"cidr": "5.0.0.0/24", "asn": 1} if method == "POST" else None)
        refused_401(r, NO_CREDENTIALS)
    assert assert_ok(world.client(world.alice).get(prefixes_url(world.a))) == []


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(secrets.token_urlsafe(30), id="random"),
        pytest.param("x", id="one-char"),
        pytest.param("y" * 201, id="201-chars"),
        pytest.param("a b", id="with-space"),
        pytest.param("0" * 40, id="zeros"),
    ],
)
def test_unknown_bearer_token_gets_401_code_9109(world: World, anonymous: httpx.Client, value: str) -> None:
    for method, path in protected(world):
        refused_401(anonymous.request(method, path, headers=bearer(value)), BAD_TOKEN)


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNzd29yZA==", "Bearer", "Token abc", "Bearerabc", "Digest username=alice", "abc"],
)
def test_malformed_authorization_header_gets_401(anonymous: httpx.Client, header: str) -> None:
    message = refused_401(user_of(anonymous, {"Authorization": header}), NO_CREDENTIALS)
    assert "Bearer" in message


def test_bearer_scheme_is_case_insensitive(world: World, anonymous: httpx.Client) -> None:
    r = user_of(anonymous, {"Authorization": f"bearer {world.alice.token}"})
    assert assert_ok(r)["email"] == world.alice.email


def test_a_bad_bearer_token_is_not_rescued_by_a_good_api_key(world: World, anonymous: httpx.Client) -> None:
    headers = {**bearer("nope"), "X-Auth-Email": world.alice.email, "X-Auth-Key": world.alice.api_key}
    refused_401(user_of(anonymous, headers), BAD_TOKEN)


def test_global_api_key_authenticates(world: World, anonymous: httpx.Client) -> None:
    for email in (world.alice.email, world.alice.email.upper()):
        headers = {"X-Auth-Email": email, "X-Auth-Key": world.alice.api_key}
        user = assert_ok(user_of(anonymous, headers))
        assert user["id"] == world.alice.user_id and user["email"] == world.alice.email
        assert assert_ok(anonymous.get(prefixes_url(world.a), headers=headers)) == []
    # an API key carries the user's memberships, nothing more
    headers = {"X-Auth-Email": world.alice.email, "X-Auth-Key": world.alice.api_key}
    assert_refused(anonymous.get(prefixes_url(world.b), headers=headers), 403, 9109)


@pytest.mark.parametrize(
    "case",
    ["wrong-key", "other-users-key", "unknown-email", "email-only", "key-only", "empty-key", "token-as-key"],
)
def test_bad_api_key_gets_401(world: World, anonymous: httpx.Client, case: str) -> None:
    alice, bob = world.alice, world.bob
    headers = {
        "wrong-key": {"X-Auth-Email": alice.email, "X-Auth-Key": secrets.token_hex(19)[:37]},
        "other-users-key": {"X-Auth-Email": alice.email, "X-Auth-Key": bob.api_key},
        "unknown-email": {"X-Auth-Email": "nobody-at-all@example.com", "X-Auth-Key": alice.api_key},
        "email-only": {"X-Auth-Email": alice.email},
        "key-only": {"X-Auth-Key": alice.api_key},
        "empty-key": {"X-Auth-Email": alice.email, "X-Auth-Key": ""},
        "token-as-key": {"X-Auth-Email": alice.email, "X-Auth-Key": alice.token},
    }[case]
    refused_401(user_of(anonymous, headers), NO_CREDENTIALS)


def test_verify_describes_the_presented_token(world: World, anonymous: httpx.Client) -> None:
    alice = world.client(world.alice)
    second = new_token(alice)
    for token_value, token_id in ((world.alice.token, None), (second["value"], second["id"])):
        verified = assert_ok(anonymous.get("/user/tokens/verify", headers=bearer(token_value)))
        assert verified["status"] == "active" and set(verified) == {"id", "status", "not_before", "expires_on"}
        if token_id:
            assert verified["id"] == token_id
    assert verified["id"] != assert_ok(alice.get("/user/tokens/verify"))["id"]
    key = {"X-Auth-Email": world.alice.email, "X-Auth-Key": world.alice.api_key}
    refused_401(anonymous.get("/user/tokens/verify", headers=key), NO_CREDENTIALS)


def test_token_value_is_shown_once_and_never_listed(world: World) -> None:
    alice = world.client(world.alice)
    created = new_token(alice)
    value = created["value"]
    assert isinstance(value, str) and len(value) >= 32
    assert created["status"] == "active" and created["last_used_on"] is None
    listed = assert_ok(alice.get("/user/tokens"))
    assert created["id"] in {t["id"] for t in listed}
    assert all("value" not in t for t in listed)
    single = assert_ok(alice.get(f"/user/tokens/{created['id']}"))
    assert "value" not in single and single["name"] == "second"
    for path in ("/user/tokens", f"/user/tokens/{created['id']}", "/user/audit_logs", "/user"):
        assert value not in alice.get(path).text, path
    assert world.alice.token not in alice.get("/user/tokens").text


def test_last_used_on_is_recorded(world: World, anonymous: httpx.Client) -> None:
    alice = world.client(world.alice)
    created = new_token(alice)
    assert assert_ok(alice.get(f"/user/tokens/{created['id']}"))["last_used_on"] is None
    before = datetime.now(UTC) - timedelta(seconds=5)
    assert_ok(user_of(anonymous, bearer(created["value"])))
    used = assert_ok(alice.get(f"/user/tokens/{created['id']}"))["last_used_on"]
    assert used is not None
    when = datetime.fromisoformat(used.replace("Z", "+00:00"))
    assert before <= when <= datetime.now(UTC) + timedelta(seconds=5)
    assert when >= datetime.fromisoformat(created["issued_on"].replace("Z", "+00:00"))


def test_revoked_token_stops_working_immediately(world: World, anonymous: httpx.Client) -> None:
    alice = world.client(world.alice)
    second = new_token(alice)
    assert assert_ok(user_of(anonymous, bearer(second["value"])))["email"] == world.alice.email
    assert assert_ok(alice.delete(f"/user/tokens/{second['id']}")) == {"id": second["id"]}
    for method, path in protected(world):
        refused_401(anonymous.request(method, path, headers=bearer(second["value"])), BAD_TOKEN)
    assert second["id"] not in {t["id"] for t in assert_ok(alice.get("/user/tokens"))}
    assert_refused(alice.get(f"/user/tokens/{second['id']}"), 404, 1003)
    assert_refused(alice.delete(f"/user/tokens/{second['id']}"), 404, 1003)
    assert assert_ok(alice.get("/user"))["email"] == world.alice.email  # the other token still works


def test_a_token_can_revoke_itself(world: World, anonymous: httpx.Client) -> None:
    third = new_token(world.client(world.alice))
    headers = bearer(third["value"])
    assert assert_ok(anonymous.delete(f"/user/tokens/{third['id']}", headers=headers)) == {"id": third["id"]}
    refused_401(anonymous.get("/user/tokens/verify", headers=headers), BAD_TOKEN)


def test_one_user_cannot_revoke_anothers_token(world: World, anonymous: httpx.Client) -> None:
    bob_token = assert_ok(world.client(world.bob).get("/user/tokens/verify"))["id"]
    assert_refused(world.client(world.alice).delete(f"/user/tokens/{bob_token}"), 404, 1003)
    assert assert_ok(user_of(anonymous, world.bob.headers))["email"] == world.bob.email


@pytest.mark.parametrize(
    "window",
    [
        pytest.param({"expires_on": -3600}, id="expired"),
        pytest.param({"not_before": 3600}, id="not-yet-valid"),
    ],
)
def test_token_outside_its_validity_window_gets_401(
    world: World, anonymous: httpx.Client, window: dict[str, int]
) -> None:
    now = datetime.now(UTC)
    fields = {k: iso(now + timedelta(seconds=v)) for k, v in window.items()}
    token = new_token(world.client(world.alice), **fields)
    refused_401(user_of(anonymous, bearer(token["value"])), BAD_TOKEN)
    assert assert_ok(world.client(world.alice).get(f"/user/tokens/{token['id']}"))["last_used_on"] is None

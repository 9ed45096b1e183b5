"""The Audit log page over real HTTP: events newest first with who, how and what; the action filter;
paging; bad query values answered with a 400 page; members of other accounts kept out."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from prefixgate.service import prefixes
from prefixgate.service.audit_view import AUDIT_ACTIONS, AUDIT_PAGE_SIZE
from prefixgate.service.context import Actor
from tests.support import Server, unique_v4_prefix
from tests.web.helpers import Person, WebClient, add_person, alert, assert_page, new_account

_ROW = re.compile(
    r"<tr>\s*<td><time[^>]*>(.*?)</time></td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td><code>(.*?)</code></td>\s*<td>(.*?)</td>",
    re.S,
)


@dataclass(frozen=True)
class Row:
    when: str
    actor: str
    interface: str
    action: str
    resource: str


def rows(page: httpx.Response) -> list[Row]:
    text = assert_page(page, 200)
    found = [Row(*(html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in m)) for m in _ROW.findall(text)]
    return found


def pager_links(page: httpx.Response) -> dict[str, str]:
    return {rel: html.unescape(href) for href, rel in re.findall(r'<a href="([^"]*)" rel="(prev|next)">', page.text)}


@dataclass
class Scene:
    a: str
    b: str
    alice: Person  # Administrator of A (acts through the API)
    bob: Person  # Administrator of B only


@pytest.fixture
def scene(web_server: Server) -> Scene:
    db = web_server.db
    a, b = new_account(db, "Audit A <b>"), new_account(db, "Audit B")
    return Scene(a, b, add_person(db, "alice", a), add_person(db, "bob", b))


@pytest.fixture
def alice_web(web_server: Server, scene: Scene) -> Iterator[WebClient]:
    with WebClient(web_server) as web:
        web.sign_in(scene.alice)
        yield web


def api(server: Server, who: Person) -> httpx.Client:
    return httpx.Client(base_url=server.api, headers=who.headers, timeout=30)


def log_url(account_id: str) -> str:
    return f"/accounts/{account_id}/audit-log"


def test_changes_made_through_the_api_appear_newest_first(
    web_server: Server, scene: Scene, alice_web: WebClient
) -> None:
    before = rows(alice_web.get(log_url(scene.a)))
    assert [r.action for r in before] == ["member.created"]  # alice joining, done by the operator at the CLI
    assert before[0].actor == "operator" and before[0].interface == "CLI"
    cidr = unique_v4_prefix()
    with api(web_server, scene.alice) as c:
        created = c.post(f"/accounts/{scene.a}/addressing/prefixes", json={"cidr": cidr, "asn": 13335})
        assert created.status_code == 201, created.text
        prefix_id = created.json()["result"]["id"]
        patched = c.patch(f"/accounts/{scene.a}/addressing/prefixes/{prefix_id}", json={"description": "edge"})
        assert patched.status_code == 200, patched.text
    page = alice_web.get(log_url(scene.a))
    listed = rows(page)
    assert [r.action for r in listed] == ["prefix.updated", "prefix.created", "member.created"]
    newest = listed[0]
    assert (newest.actor, newest.interface, newest.resource) == (scene.alice.email, "API", f"prefix {prefix_id}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", newest.when)
    assert "3 events · page 1 of 1" in page.text
    assert pager_links(page) == {}
    assert 'aria-current="page">Audit log</a>' in page.text


def test_a_delegatees_copy_names_the_actor_by_id_only(web_server: Server, scene: Scene) -> None:
    db = web_server.db
    both = add_person(db, "both", scene.a, scene.b)
    cidr = unique_v4_prefix()
    prefix_id = prefixes.create_prefix(db, Actor.cli(), scene.a, cidr, asn=13335).id
    prefixes.approve_prefix(db, Actor.cli(), prefix_id)
    with api(web_server, both) as c:
        r = c.post(
            f"/accounts/{scene.a}/addressing/prefixes/{prefix_id}/delegations",
            json={"cidr": cidr, "delegated_account_id": scene.b},
        )
        assert r.status_code == 200, r.text
    with WebClient(web_server) as bob:
        bob.sign_in(scene.bob)
        [received] = [r for r in rows(bob.get(log_url(scene.b))) if r.action == "delegation.created"]
    assert received.actor == both.user_id  # B's log does not learn the actor's email
    with WebClient(web_server) as web:
        web.sign_in(both)
        [made] = [r for r in rows(web.get(log_url(scene.a))) if r.action == "delegation.created"]
    assert made.actor == both.email


def test_the_filter_narrows_the_log_to_one_action(web_server: Server, scene: Scene, alice_web: WebClient) -> None:
    with api(web_server, scene.alice) as c:
        for _ in range(2):
            r = c.post(f"/accounts/{scene.a}/addressing/prefixes", json={"cidr": unique_v4_prefix(), "asn": 13335})
            assert r.status_code == 201, r.text
    page = alice_web.get(log_url(scene.a), params={"action": "prefix.created"})
    assert [r.action for r in rows(page)] == ["prefix.created", "prefix.created"]
    assert "2 events with action" in page.text
    assert '<option value="prefix.created" selected>' in page.text
    for action in AUDIT_ACTIONS:  # the filter offers every known action
        assert f'<option value="{action}"' in page.text
    assert rows(alice_web.get(log_url(scene.a), params={"action": "binding.created"})) == []
    everything = alice_web.get(log_url(scene.a), params={"action": ""})
    assert {r.action for r in rows(everything)} == {"prefix.created", "member.created"}


def test_an_action_the_list_does_not_know_is_offered_as_typed_and_matches_nothing(
    alice_web: WebClient, scene: Scene
) -> None:
    page = alice_web.get(log_url(scene.a), params={"action": "gadget.launched"})
    assert rows(page) == []
    assert '<option value="gadget.launched" selected>' in page.text


def test_paging_newest_first_with_previous_and_next(web_server: Server, scene: Scene, alice_web: WebClient) -> None:
    db, cli = web_server.db, Actor.cli()
    prefix_id = prefixes.create_prefix(db, cli, scene.a, unique_v4_prefix(), asn=13335).id
    for i in range(AUDIT_PAGE_SIZE + 10):
        prefixes.edit_prefix(db, cli, scene.a, prefix_id, description=f"change {i}")
    total = AUDIT_PAGE_SIZE + 12  # member.created, prefix.created, and the updates
    first = alice_web.get(log_url(scene.a))
    assert len(rows(first)) == AUDIT_PAGE_SIZE
    assert f"{total} events · page 1 of 2" in first.text
    assert pager_links(first) == {"next": "?page=2"}
    second = alice_web.get(log_url(scene.a) + pager_links(first)["next"])
    tail = rows(second)
    assert [r.action for r in tail] == ["prefix.updated"] * 10 + ["prefix.created", "member.created"]
    assert pager_links(second) == {"prev": "?page=1"}
    # Filtered pages keep the filter in their links.
    filtered = alice_web.get(log_url(scene.a), params={"action": "prefix.updated"})
    assert pager_links(filtered) == {"next": "?page=2&action=prefix.updated"}
    assert len(rows(alice_web.get(log_url(scene.a), params={"action": "prefix.updated", "page": "2"}))) == 10
    # Past the last page: no rows, and a way back.
    beyond = alice_web.get(log_url(scene.a), params={"page": "7"})
    assert rows(beyond) == [] and "There are no events on this page." in beyond.text
    assert pager_links(beyond) == {"prev": "?page=2"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"page": "abc"}, "page must be a whole number from 1 to 1000000, not 'abc'"),
        ({"page": "0"}, "page must be a whole number from 1 to 1000000, not '0'"),
        ({"page": "-1"}, "page must be a whole number from 1 to 1000000, not '-1'"),
        ({"page": "1.5"}, "page must be a whole number from 1 to 1000000, not '1.5'"),
        ({"page": "1000001"}, "page must be a whole number from 1 to 1000000, not '1000001'"),
        ({"page": "9" * 400}, "page must be a whole number from 1 to 1000000, not '99999999999999999999'"),
        ({"page": "١٢"}, "page must be a whole number from 1 to 1000000"),  # Arabic-Indic digits
        ({"page": "1\x00"}, "page must be a whole number from 1 to 1000000"),
        ({"action": "prefix.created\x00"}, "action must be an action such as delegation.created"),
        ({"action": "<script>alert(1)</script>"}, "action must be an action such as delegation.created"),
        ({"action": "a." + "b" * 70}, "action must be an action such as delegation.created"),
        ({"action": "PREFIX.CREATED"}, "action must be an action such as delegation.created"),
        ({"action": "prefix"}, "action must be an action such as delegation.created"),
    ],
)
def test_bad_query_values_get_a_400_page(
    alice_web: WebClient, scene: Scene, query: dict[str, str], message: str
) -> None:
    r = alice_web.get(log_url(scene.a), params=query)
    assert_page(r, 400)
    assert alert(r).startswith(message)
    assert "<script>alert(1)</script>" not in r.text


def test_the_page_at_the_limit_is_empty_not_an_error(alice_web: WebClient, scene: Scene) -> None:
    assert rows(alice_web.get(log_url(scene.a), params={"page": "1000000"})) == []


def test_a_member_of_b_only_is_refused_on_as_log(web_server: Server, scene: Scene) -> None:
    with WebClient(web_server) as bob:
        bob.sign_in(scene.bob)
        r = bob.get(log_url(scene.a))
        assert_page(r, 403)
        assert "Audit A" not in r.text and "member.created" not in r.text
        assert assert_page(bob.get(log_url(scene.b)), 200)


def test_every_role_may_read_the_log(web_server: Server, scene: Scene) -> None:
    reader = add_person(web_server.db, "reader", scene.a, role="IP Prefixes: Read")
    with WebClient(web_server) as web:
        web.sign_in(reader)
        listed = rows(web.get(log_url(scene.a)))
    assert listed and listed[0].action == "member.created"


def test_signed_out_visitors_are_sent_to_sign_in_and_back(web_server: Server, scene: Scene) -> None:
    with WebClient(web_server) as web:
        r = web.get(log_url(scene.a))
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={log_url(scene.a)}"


def test_the_account_name_is_escaped(alice_web: WebClient, scene: Scene) -> None:
    text = assert_page(alice_web.get(log_url(scene.a)), 200)
    assert "Audit A &lt;b&gt;" in text and "Audit A <b>" not in text

"""The docs' Add Delegation flow in a real browser against `prefixgate serve`, on SQLite and PostgreSQL:
Account Home > IP Addresses > IP Prefixes, Edit, Add Delegation, Save, by role and accessible name; with
JavaScript and without. Then the errors on the page, escaping, and who may not see or post."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.console import (
    Console,
    accessibility_violations,
    add_person,
    console_server,
    new_context,
    shot,
    sign_in,
)
from tests.browser.prefix_scenes import Owners, api_delegations, csrf_token, delegate, edit_path, owners
from tests.support import fresh_database_url, unique_v4_prefix

PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


@pytest.fixture
def own_console(engine_name: str, tmp_path: Path) -> Iterator[Console]:
    """A database and server of the test's own: 1.2.3.0/24 can be onboarded once per database."""
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        yield from console_server(url, tmp_path)


@pytest.fixture(scope="module")
def console(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """Shared by the tests that use prefixes no other test uses."""
    folder = tmp_path_factory.mktemp("delegation-flow")
    with fresh_database_url(engine_name, str(folder)) as url:
        yield from console_server(url, folder)


def accessible(page: Page) -> None:
    assert accessibility_violations(page) == [], page.url


def docs_flow(page: Page, console: Console, o: Owners, request: pytest.FixtureRequest, *, axe: bool = True) -> None:
    """The four steps of the docs, checked and photographed at each page (and checked with axe-core, which
    needs timers: a page with JavaScript off runs none, so the run with JavaScript on checks the pages)."""

    def accessible(page: Page) -> None:
        if axe:
            assert accessibility_violations(page) == [], page.url

    sign_in(page, console, o.person)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account Home").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(o.a_name)
    accessible(page)
    shot(page, request, "account-home")
    main = page.get_by_role("main")
    main.get_by_role("link", name="IP Addresses").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("IP Addresses")
    accessible(page)
    shot(page, request, "ip-addresses")
    main.get_by_role("link", name="IP Prefixes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("IP Prefixes")
    accessible(page)
    shot(page, request, "ip-prefixes")

    page.get_by_role("row").filter(has_text="1.2.3.0/24").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit IP Prefixes")
    expect(main.get_by_text("1.2.3.0/24").first).to_be_visible()
    accessible(page)
    shot(page, request, "edit-ip-prefixes")

    page.get_by_role("button", name="Add Delegation", exact=True).click()
    picker = page.get_by_label("Account to delegate to")
    expect(picker).to_be_focused()  # autofocus: plain HTML, with JavaScript or without
    assert picker.locator("option").all_inner_texts() == [o.b_name]  # B, and only B: never A itself
    expect(page.get_by_label("CIDR")).to_have_value("1.2.3.0/24")
    expect(page.get_by_label("CIDR")).not_to_be_editable()
    expect(page.get_by_text("less than the entire prefix")).to_be_visible()
    accessible(page)
    shot(page, request, "add-delegation")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The delegation was added.")
    table = page.get_by_role("table", name="Delegations of 1.2.3.0/24")
    rows = table.get_by_role("row").filter(has_text="1.2.3.0/24")
    expect(rows).to_have_count(1)
    expect(rows.get_by_role("cell").first).to_have_text(o.b_name)
    accessible(page)
    shot(page, request, "delegation-listed")

    listed = api_delegations(console, o)
    assert [(d["cidr"], d["delegated_account_id"]) for d in listed] == [("1.2.3.0/24", o.b)]


def test_the_docs_flow_delegates_the_whole_prefix_to_the_users_other_account(
    chromium: Browser, own_console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(own_console, "1.2.3.0/24", description="The docs' example prefix")
    context = new_context(chromium)
    docs_flow(context.new_page(), own_console, o, request)
    context.close()


def test_the_docs_flow_works_without_javascript(
    chromium: Browser, own_console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(own_console, "1.2.3.0/24")
    context = new_context(chromium, javascript=False)
    page = context.new_page()
    docs_flow(page, own_console, o, request, axe=False)
    context.close()


def test_saving_a_delegation_that_already_exists_shows_the_409_on_the_page(
    chromium: Browser, console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(console, unique_v4_prefix())
    context = new_context(chromium)
    first, second = context.new_page(), context.new_page()
    sign_in(first, console, o.person)
    for tab in (first, second):  # two tabs with the form open
        tab.goto(f"{console.base}{edit_path(o)}?add=1")
        expect(tab.get_by_label("Account to delegate to")).to_be_visible()
    first.get_by_role("button", name="Save", exact=True).click()
    expect(first.get_by_role("status")).to_have_text("The delegation was added.")

    with second.expect_response(lambda r: r.request.method == "POST") as answer:
        second.get_by_role("button", name="Save", exact=True).click()
    assert answer.value.status == 409
    alert = second.get_by_role("alert")
    expect(alert).to_contain_text(f"{o.cidr} is already delegated to account {o.b}")
    expect(alert).to_be_focused()  # and scrolled to, next to the form it is about
    expect(second.get_by_role("heading", level=1)).to_have_text("Edit IP Prefixes")
    expect(second.get_by_label("Account to delegate to")).to_be_visible()  # the form is still there
    assert "Traceback" not in second.content()
    accessible(second)
    shot(second, request, "already-delegated")
    assert len(api_delegations(console, o)) == 1
    context.close()


def test_an_unknown_account_is_refused_with_400_and_the_form_kept(chromium: Browser, console: Console) -> None:
    o = owners(console, unique_v4_prefix())
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, o.person)
    page.goto(f"{console.base}{edit_path(o)}?add=1")
    r = page.request.post(
        f"{console.base}{edit_path(o)}/delegations",
        form={"csrf_token": csrf_token(page), "delegated_account_id": "f" * 32, "cidr": "1.1.1.0/24"},
    )
    assert r.status == 400 and "is not an existing account" in r.text() and "Traceback" not in r.text()
    assert api_delegations(console, o) == []
    context.close()


def test_a_posted_cidr_is_ignored_the_dashboard_delegates_the_whole_prefix(chromium: Browser, console: Console) -> None:
    o = owners(console, unique_v4_prefix())
    part = o.cidr.replace(".0/24", ".0/25")
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, o.person)
    r = page.request.post(
        f"{console.base}{edit_path(o)}/delegations",
        form={"csrf_token": csrf_token(page), "delegated_account_id": o.b, "cidr": part},
        max_redirects=0,
    )
    assert r.status == 303
    assert [d["cidr"] for d in api_delegations(console, o)] == [o.cidr]
    context.close()


def test_a_user_with_one_account_is_told_there_is_no_other_account(chromium: Browser, console: Console) -> None:
    o = owners(console, unique_v4_prefix())
    alone = add_person(console.db, "alone", o.a)
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, alone)
    page.goto(console.base + edit_path(o))
    page.get_by_role("button", name="Add Delegation", exact=True).click()
    expect(page.get_by_text("You belong to no other account")).to_be_visible()
    expect(page.get_by_label("Account to delegate to")).to_have_count(0)
    accessible(page)
    context.close()


def test_what_tenants_typed_is_shown_as_text_and_never_runs(
    chromium: Browser, console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(console, unique_v4_prefix(), b_name=PAYLOAD, description=PAYLOAD)
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, o.person)

    page.goto(f"{console.base}/accounts/{o.a}/ip-addresses/prefixes")
    expect(page.get_by_role("cell", name=PAYLOAD, exact=True)).to_be_visible()
    shot(page, request, "list")
    page.get_by_role("row").filter(has_text=o.cidr).get_by_role("link", name="Edit").click()
    expect(page.get_by_role("textbox", name="Description")).to_have_value(PAYLOAD)
    page.get_by_role("button", name="Add Delegation", exact=True).click()
    assert page.get_by_label("Account to delegate to").locator("option").all_inner_texts() == [PAYLOAD]
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The delegation was added.")
    expect(page.get_by_role("cell", name=PAYLOAD, exact=True)).to_be_visible()  # the delegations table
    expect(page.get_by_text(f"Delegated to {PAYLOAD}", exact=True)).to_be_visible()  # the map's legend
    shot(page, request, "edit")
    for path in (f"/accounts/{o.a}/ip-addresses/prefixes", edit_path(o), f"/accounts/{o.b}/ip-addresses/delegated"):
        page.goto(console.base + path)
        assert page.evaluate("window.__pwned") is None, path
        assert page.locator("main img").count() == 0, path
    context.close()


def test_a_stranger_gets_403_on_every_page_and_post_and_nothing_changes(chromium: Browser, console: Console) -> None:
    o = owners(console, unique_v4_prefix(), bind=True)
    delegation = delegate(console.db, o, o.cidr, o.b)
    with console.api(o.person) as api:
        binding = api.get(f"/accounts/{o.a}/addressing/prefixes/{o.prefix_id}/bindings").json()["result"][0]["id"]
    stranger = add_person(console.db, "stranger", o.b)  # belongs to B only
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, stranger)
    token = csrf_token(page)
    base = console.base + edit_path(o)
    for url in (base, f"{base}/delegations/{delegation}/remove", f"{base}/bindings/{binding}/remove"):
        r = page.goto(url)
        assert r is not None and r.status == 403, url
        expect(page.get_by_role("alert")).to_have_text("you are not a member of this account")
    assert page.request.get(f"{console.base}/accounts/{o.a}/ip-addresses/delegated").status == 403
    posts = {
        f"{base}/description": {"description": "taken over"},
        f"{base}/delegations": {"delegated_account_id": o.b},
        f"{base}/delegations/{delegation}/remove": {"force": "1"},
        f"{base}/bindings/{binding}/remove": {"force": "1"},
    }
    for url, fields in posts.items():
        assert page.request.post(url, form={"csrf_token": token, **fields}).status == 403, url
        assert page.request.post(url, form=fields).status == 403, url  # and without the token
    with console.api(o.person) as api:
        prefix = api.get(f"/accounts/{o.a}/addressing/prefixes/{o.prefix_id}").json()["result"]
        assert len(api.get(f"/accounts/{o.a}/addressing/prefixes/{o.prefix_id}/bindings").json()["result"]) == 1
    assert prefix["description"] == ""
    assert [d["id"] for d in api_delegations(console, o)] == [delegation]
    context.close()


def test_an_unknown_prefix_is_a_404_page(chromium: Browser, console: Console) -> None:
    o = owners(console, unique_v4_prefix())
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, o.person)
    r = page.goto(f"{console.base}/accounts/{o.a}/ip-addresses/prefixes/{'0' * 32}")
    assert r is not None and r.status == 404
    expect(page.get_by_role("alert")).to_have_text("prefix not found")
    context.close()


def test_the_description_is_saved_and_a_too_long_one_is_refused_on_the_page(
    chromium: Browser, console: Console
) -> None:
    o = owners(console, unique_v4_prefix())
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, o.person)
    page.goto(console.base + edit_path(o))
    page.get_by_role("textbox", name="Description").fill("Edge of the lab")
    page.get_by_role("button", name="Save description").click()
    expect(page.get_by_role("status")).to_have_text("The description was saved.")
    expect(page.get_by_role("textbox", name="Description")).to_have_value("Edge of the lab")
    r = page.request.post(
        f"{console.base}{edit_path(o)}/description", form={"csrf_token": csrf_token(page), "description": "x" * 1001}
    )
    assert r.status == 400 and "description must be at most 1000 characters" in r.text()
    with console.api(o.person) as api:
        assert api.get(f"/accounts/{o.a}/addressing/prefixes/{o.prefix_id}").json()["result"]["description"] == (
            "Edge of the lab"
        )
    context.close()


def test_add_delegation_works_from_the_keyboard(chromium: Browser, console: Console) -> None:
    o = owners(console, unique_v4_prefix())
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, o.person)
    page.goto(console.base + edit_path(o))
    page.get_by_role("button", name="Add Delegation", exact=True).focus()
    page.keyboard.press("Space")
    picker = page.get_by_label("Account to delegate to")
    expect(picker).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("The delegation was added.")
    assert [d["cidr"] for d in api_delegations(console, o)] == [o.cidr]
    context.close()

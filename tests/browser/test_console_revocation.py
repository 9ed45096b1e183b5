"""Removing a delegation or a binding from Edit IP Prefixes in a real browser: the impact is shown before
anything changes, only Remove anyway forces it, and what appeared in between is a 409 on the page. And
the delegatee's side: Delegated to this account."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.console import (
    Console,
    accessibility_violations,
    add_person,
    new_context,
    shot,
    sign_in,
)
from tests.browser.prefix_scenes import Owners, api_delegations, app_status, delegate, edit_path, owners, spectrum_app
from tests.support import unique_v4_prefix


def open_edit_page(page: Page, console: Console, o: Owners) -> None:
    sign_in(page, console, o.person)
    page.goto(console.base + edit_path(o))
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit IP Prefixes")


def test_removing_a_delegation_shows_the_delegatees_app_first_and_remove_anyway_blocks_it(
    chromium: Browser, console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(console, unique_v4_prefix(), bind=True)
    net = o.cidr.removesuffix("0/24")
    delegate(console.db, o, o.cidr, o.b)
    zone_id, app_id = spectrum_app(console.db, o.b, f"{net}10")
    b_only = add_person(console.db, "b-only", o.b)
    context = new_context(chromium)
    page = context.new_page()
    open_edit_page(page, console, o)

    page.get_by_role("link", name=f"Remove delegation of {o.cidr} to {o.b_name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove delegation")
    impact = page.get_by_role("table", name=f"What removing the delegation of {o.cidr} to {o.b_name} would affect")
    row = impact.get_by_role("row").filter(has_text=app_id)
    expect(row).to_have_count(1)
    for text in ("Spectrum app", zone_id, o.b_name, f"{net}10", "would be blocked"):
        expect(row).to_contain_text(text)
    expect(page.get_by_role("button", name="Remove", exact=True)).to_have_count(0)  # only an explicit force
    expect(page.get_by_role("link", name="Cancel")).to_be_visible()
    assert accessibility_violations(page) == []
    shot(page, request, "impact")
    assert len(api_delegations(console, o)) == 1  # nothing has changed yet
    assert app_status(console, b_only, zone_id, app_id) == "active"

    page.get_by_role("button", name="Remove anyway").click()
    expect(page.get_by_role("status")).to_have_text("The delegation was removed.")
    expect(page.get_by_text("This prefix is not delegated to any account.")).to_be_visible()
    shot(page, request, "removed")
    assert api_delegations(console, o) == []
    assert app_status(console, b_only, zone_id, app_id) == "blocked"  # as B sees it through the API
    context.close()


def test_cancel_changes_nothing(chromium: Browser, console: Console) -> None:
    o = owners(console, unique_v4_prefix(), bind=True)
    delegate(console.db, o, o.cidr, o.b)
    spectrum_app(console.db, o.b, o.cidr.replace(".0/24", ".1"))
    context = new_context(chromium)
    page = context.new_page()
    open_edit_page(page, console, o)
    page.get_by_role("link", name=f"Remove delegation of {o.cidr} to {o.b_name}").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit IP Prefixes")
    assert len(api_delegations(console, o)) == 1
    context.close()


def test_a_delegation_nothing_depends_on_is_removed_with_a_plain_remove(
    chromium: Browser, console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(console, unique_v4_prefix())
    delegate(console.db, o, o.cidr, o.b)
    context = new_context(chromium)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    open_edit_page(page, console, o)
    page.get_by_role("link", name=f"Remove delegation of {o.cidr} to {o.b_name}").click()
    expect(page.get_by_text("Nothing depends on it")).to_be_visible()
    expect(page.get_by_role("button", name="Remove anyway")).to_have_count(0)
    assert accessibility_violations(page) == []
    shot(page, request, "no-impact")
    page.get_by_role("button", name="Remove", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("The delegation was removed.")
    assert api_delegations(console, o) == []
    context.close()


def test_an_app_created_after_the_confirmation_was_shown_is_a_409_with_the_impact(
    chromium: Browser, console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(console, unique_v4_prefix(), bind=True)
    delegate(console.db, o, o.cidr, o.b)
    context = new_context(chromium)
    page = context.new_page()
    open_edit_page(page, console, o)
    page.get_by_role("link", name=f"Remove delegation of {o.cidr} to {o.b_name}").click()
    expect(page.get_by_text("Nothing depends on it")).to_be_visible()
    _, app_id = spectrum_app(console.db, o.b, o.cidr.replace(".0/24", ".20"))  # B, meanwhile

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Remove", exact=True).click()
    assert answer.value.status == 409
    expect(page.get_by_role("alert")).to_contain_text("would leave 1 Spectrum app(s)")
    expect(page.get_by_role("row").filter(has_text=app_id)).to_have_count(1)
    expect(page.get_by_role("button", name="Remove anyway")).to_be_visible()
    assert "Traceback" not in page.content()
    assert accessibility_violations(page) == []
    shot(page, request, "conflict")
    assert len(api_delegations(console, o)) == 1
    context.close()


def test_removing_a_binding_shows_the_apps_that_would_lose_spectrum(
    chromium: Browser, console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(console, unique_v4_prefix(), bind=True)
    zone_id, app_id = spectrum_app(console.db, o.a, o.cidr.replace(".0/24", ".30"))
    context = new_context(chromium)
    page = context.new_page()
    open_edit_page(page, console, o)
    page.get_by_role("link", name=f"Remove binding of {o.cidr} to Spectrum").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove binding")
    row = page.get_by_role("row").filter(has_text=app_id)
    for text in ("Spectrum app", "tcp/22", zone_id, o.a_name, "would be blocked"):
        expect(row).to_contain_text(text)
    assert accessibility_violations(page) == []
    shot(page, request, "binding-impact")
    with console.api(o.person) as api:
        assert len(api.get(f"/accounts/{o.a}/addressing/prefixes/{o.prefix_id}/bindings").json()["result"]) == 1

    page.get_by_role("button", name="Remove anyway").click()
    expect(page.get_by_role("status")).to_have_text("The service binding was removed.")
    expect(page.get_by_text("No addresses of this prefix are bound to a service.")).to_be_visible()
    with console.api(o.person) as api:
        assert api.get(f"/accounts/{o.a}/addressing/prefixes/{o.prefix_id}/bindings").json()["result"] == []
    assert app_status(console, o.person, zone_id, app_id) == "blocked"
    context.close()


def test_the_delegatee_sees_what_it_was_delegated_with_the_owners_name(
    chromium: Browser, console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(console, unique_v4_prefix())
    part = o.cidr.replace(".0/24", ".128/25")
    delegate(console.db, o, part, o.b)
    b_only = add_person(console.db, "b-only", o.b)
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, b_only)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Delegated to this account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delegated to this account")
    row = page.get_by_role("row").filter(has_text=part)
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").nth(0)).to_have_text(o.a_name)
    expect(row.get_by_role("cell").nth(1)).to_have_text(o.cidr)
    assert accessibility_violations(page) == []
    shot(page, request, "delegated")
    page.goto(f"{console.base}/accounts/{o.a}/ip-addresses/prefixes/{o.prefix_id}")  # the owner's page: not B's
    expect(page.get_by_role("alert")).to_have_text("you are not a member of this account")
    context.close()

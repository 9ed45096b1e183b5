"""The Audit log page in a real browser: changes show up newest first, the action filter narrows the
table, Previous and Next walk the pages; accessible, and it works without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from prefixgate.service import prefixes
from prefixgate.service.audit_view import AUDIT_PAGE_SIZE
from prefixgate.service.context import Actor
from tests.browser.console import (
    Console,
    Person,
    accessibility_violations,
    add_person,
    new_account,
    shot,
    signed_in,
)


def action_cells(page: Page) -> list[str]:
    return page.locator("tbody tr td:nth-child(4)").all_inner_texts()


def check_accessibility(page: Page, javascript: bool) -> None:
    # axe-core is a script: with JavaScript off it cannot run (the same pages are checked with it on).
    if javascript:
        assert accessibility_violations(page) == []


def open_audit_log(page: Page, account_name: str) -> None:
    page.get_by_label("Account").select_option(label=account_name)
    expect(page.get_by_role("heading", level=1)).to_have_text(account_name)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_events_appear_filter_narrows_and_pages_turn(
    chromium: Browser, console: Console, request: pytest.FixtureRequest, javascript: bool
) -> None:
    name = f"Audit Co {'js' if javascript else 'no-js'}"
    cidr = "5.200.1.0/24" if javascript else "5.200.2.0/24"
    account = new_account(console.db, name)
    person: Person = add_person(console.db, "auditor", account)
    context, page = signed_in(chromium, console, person, javascript=javascript)
    if javascript:
        open_audit_log(page, name)
    else:  # the switcher's Switch button does it without script
        page.get_by_label("Account").select_option(label=name)
        page.get_by_role("button", name="Switch").click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    expect(page.get_by_role("link", name="Audit log")).to_have_attribute("aria-current", "page")
    assert action_cells(page) == ["member.created"]

    # A change through the API shows up at the top, with who made it and how.
    with console.api(person) as api:
        r = api.post(f"/accounts/{account}/addressing/prefixes", json={"cidr": cidr, "asn": 13335})
        assert r.status_code == 201, r.text
        prefix_id = r.json()["result"]["id"]
    page.reload()
    first_row = page.locator("tbody tr").first
    expect(first_row.locator("td").nth(1)).to_have_text(person.email)
    expect(first_row.locator("td").nth(2)).to_have_text("API")
    expect(first_row.locator("td").nth(3)).to_have_text("prefix.created")
    expect(first_row.locator("td").nth(4)).to_have_text(f"prefix {prefix_id}")
    check_accessibility(page, javascript)
    shot(page, request, "audit-log")

    # Many edits make two pages; the filter narrows to one action.
    for i in range(AUDIT_PAGE_SIZE):
        prefixes.edit_prefix(console.db, Actor.cli(), account, prefix_id, description=f"edit {i}")
    page.reload()
    expect(page.locator("tbody tr")).to_have_count(AUDIT_PAGE_SIZE)
    expect(page.get_by_text(f"{AUDIT_PAGE_SIZE + 2} events · page 1 of 2")).to_be_visible()
    pages = page.get_by_role("navigation", name="Audit log pages")
    expect(pages.get_by_role("link", name="Previous")).to_have_count(0)
    pages.get_by_role("link", name="Next").click()
    expect(page.get_by_text("page 2 of 2")).to_be_visible()
    assert action_cells(page) == ["prefix.created", "member.created"]  # the oldest, last
    check_accessibility(page, javascript)
    shot(page, request, "audit-log-page-2")
    pages.get_by_role("link", name="Previous").click()
    expect(page.get_by_text("page 1 of 2")).to_be_visible()

    page.get_by_label("Action").select_option("prefix.created")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("1 event with action prefix.created")).to_be_visible()
    assert action_cells(page) == ["prefix.created"]
    assert "action=prefix.created" in page.url
    expect(page.get_by_label("Action")).to_have_value("prefix.created")
    check_accessibility(page, javascript)
    shot(page, request, "audit-log-filtered")
    page.get_by_role("link", name="Show all actions").click()
    expect(page.get_by_text(f"{AUDIT_PAGE_SIZE + 2} events · page 1 of 2")).to_be_visible()
    context.close()


def test_a_bad_page_number_shows_a_message(chromium: Browser, console: Console, request: pytest.FixtureRequest) -> None:
    account = new_account(console.db, "Audit Errors")
    person = add_person(console.db, "auditbad", account)
    context, page = signed_in(chromium, console, person)
    response = page.goto(f"{console.base}/accounts/{account}/audit-log?page=abc")
    assert response is not None and response.status == 400
    expect(page.get_by_role("alert")).to_have_text("page must be a whole number from 1 to 1000000, not 'abc'")
    assert accessibility_violations(page) == []
    shot(page, request, "bad-page")
    context.close()

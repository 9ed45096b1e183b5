"""Signing in to the dashboard in a real browser, and the layout every page shares."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.console import (
    Console,
    Person,
    accessibility_violations,
    add_person,
    new_account,
    new_context,
    shot,
    sign_in,
)


@pytest.fixture(scope="module")
def person(console: Console) -> Person:
    a, b = new_account(console.db, "Sign-in A"), new_account(console.db, "Sign-in B")
    return add_person(console.db, "signin", a, b)


def test_sign_in_lands_on_account_home_with_every_account_in_the_switcher(
    chromium: Browser, console: Console, person: Person, request: pytest.FixtureRequest
) -> None:
    context = new_context(chromium)
    page = context.new_page()
    page.goto(console.base + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert accessibility_violations(page) == []
    shot(page, request, "login")
    sign_in(page, console, person)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in A")
    options = page.get_by_label("Account").locator("option").all_inner_texts()
    assert options == ["Sign-in A", "Sign-in B"]
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Account Home", "IP Addresses", "IP Prefixes", "Delegated to this account"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    assert accessibility_violations(page) == []
    shot(page, request, "account-home")
    page.get_by_label("Account").select_option(label="Sign-in B")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in B")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(console.base + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    context.close()


def test_wrong_password_is_refused_with_a_message(chromium: Browser, console: Console, person: Person) -> None:
    context = new_context(chromium)
    page = context.new_page()
    page.goto(console.base + "/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill("not the password")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    context.close()

"""The issue's whole scenario in one browser session per party, against `prefixgate serve`: B puts its
delegated address to work from the dashboard (a Spectrum app on 1.2.3.4, a refused 1.2.3.5 with its
reason by the field, a custom hostname with its TXT record), then A removes the delegation from Edit
IP Prefixes: the confirmation lists B's app before anything changes, and after Remove anyway B's page
shows the app as blocked. "ay" belongs only to A and "bee" only to B (zone_scenes.Stage), so each sees
the other's side only as the pages and the API allow."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.console import signed_in
from tests.browser.zone_scenes import (
    NOT_AUTHORIZED,
    Stage,
    app_row,
    checked,
    field_error,
    fill_app,
    hostname_row,
    open_spectrum,
    submit,
)


def test_b_puts_the_delegated_ip_to_work_and_a_revokes_it_with_the_impact_shown_first(
    chromium: Browser, stage: Stage, request: pytest.FixtureRequest
) -> None:
    s = stage
    ssh = f"ssh.{s.zone['name']}"

    # B: a Spectrum app on the delegated 1.2.3.4, and 1.2.3.5 refused with its reason next to Edge IPs.
    b_context, b_page = signed_in(chromium, s.console, s.bee)
    open_spectrum(b_page, s)
    b_page.get_by_role("link", name="Create application").click()
    fill_app(b_page, ssh, "tcp/22", "1.2.3.4", "127.0.0.1:2222")
    assert submit(b_page, "Create application") == 303
    expect(app_row(b_page, ssh)).to_contain_text("Active")
    checked(b_page, request, "b-app-created")
    b_page.get_by_role("link", name="Create application").click()
    fill_app(b_page, f"other.{s.zone['name']}", "tcp/23", "1.2.3.5", "127.0.0.1:2323")
    assert submit(b_page, "Create application") == 400
    expect(field_error(b_page, "Edge IPs")).to_contain_text(NOT_AUTHORIZED)
    expect(field_error(b_page, "Edge IPs")).to_contain_text("1.2.3.5: ip_not_usable")
    checked(b_page, request, "b-refused-ip")
    [app] = s.apps()

    # B: a custom hostname, with the TXT record to publish shown as the API gives it.
    shop = f"shop-{secrets.token_hex(4)}.example.net"
    b_page.get_by_role("navigation", name="Main").get_by_role("link", name="Zones").click()
    b_page.get_by_role("row").filter(has_text=s.zone["name"]).get_by_role("link", name="Custom hostnames").click()
    b_page.get_by_label("Fallback origin").fill(f"fallback.{s.zone['name']}")
    assert submit(b_page, "Save fallback origin") == 303
    b_page.get_by_label("Hostname", exact=True).fill(shop)
    assert submit(b_page, "Add custom hostname") == 303
    [host] = s.hostnames()
    txt = host["ownership_verification"]
    row = hostname_row(b_page, shop)
    expect(row.locator("code", has_text=txt["name"])).to_have_text(txt["name"])
    expect(row.locator("code", has_text=txt["value"])).to_have_text(txt["value"])
    checked(b_page, request, "b-hostname-txt")

    # A: Account Home > IP Addresses > IP Prefixes > Edit > Remove on the delegation to B.
    a_context, a_page = signed_in(chromium, s.console, s.ay)
    nav = a_page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Account Home").click()
    nav.get_by_role("link", name="IP Addresses", exact=True).click()
    nav.get_by_role("link", name="IP Prefixes").click()
    a_page.get_by_role("row").filter(has_text="1.2.3.0/24").get_by_role("link", name="Edit").click()
    expect(a_page.get_by_role("heading", level=1)).to_have_text("Edit IP Prefixes")
    a_page.get_by_role("link", name=re.compile(r"^Remove delegation of 1\.2\.3\.4\/32 to ")).click()
    impact = a_page.get_by_role("table", name=re.compile(r"What removing the delegation of 1\.2\.3\.4\/32"))
    app_line = impact.get_by_role("row").filter(has_text=app["id"])
    expect(app_line).to_contain_text("Spectrum app")
    expect(app_line).to_contain_text("would be blocked")
    expect(a_page.get_by_role("button", name="Remove", exact=True)).to_have_count(0)
    checked(a_page, request, "a-impact")
    assert s.apps()[0]["status"] == "active"  # shown, not done

    a_page.get_by_role("button", name="Remove anyway").click()
    expect(a_page.get_by_role("status")).to_have_text("The delegation was removed.")
    checked(a_page, request, "a-removed")

    # B: the app is blocked, with the reason, on B's own page.
    b_page.reload()
    open_spectrum(b_page, s)
    expect(app_row(b_page, ssh)).to_contain_text("Blocked")
    checked(b_page, request, "b-app-blocked")
    assert s.apps()[0]["status"] == "blocked"
    a_context.close()
    b_context.close()

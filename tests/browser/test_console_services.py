"""The services that put IPs to work, in a real browser against `prefixgate serve`: an account's zones,
a zone's Spectrum applications (create on a delegated IP, a refused IP's reason by its field, edit,
delete, blocked after a forced revocation) and custom hostnames (fallback origin, the TXT record to add,
Validate now against a loopback DNS server, delete); and what strangers and forged posts get.

Setup goes through the service layer: A owns 1.2.3.0/24 (approved), bound to Spectrum with 1.2.3.128/25
bound to CDN; A delegates 1.2.3.4/32 and 1.2.3.128/25 to B; B has a zone. "bee" belongs only to B,
"ay" only to A. Every test has its own server and database, so each may take 1.2.3.0/24.
"""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Browser, Page, expect

from prefixgate.service import delegations, spectrum
from prefixgate.service.context import Actor
from prefixgate.service.spectrum import AppInput
from tests.browser.console import signed_in
from tests.browser.zone_scenes import (
    NO_CNAME,
    NO_FALLBACK,
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


def create_app_refuse_and_delete(page: Page, s: Stage, request: pytest.FixtureRequest, *, javascript: bool) -> None:
    """The flow both with and without JavaScript: create on 1.2.3.4, refused on 1.2.3.5, a second app
    created and deleted."""
    ssh = f"ssh.{s.zone['name']}"
    open_spectrum(page, s)
    expect(page.get_by_text("This zone has no Spectrum applications yet.")).to_be_visible()
    checked(page, request, "spectrum-empty", axe=javascript)
    page.get_by_role("link", name="Create application").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Create application")
    checked(page, request, "create-form", axe=javascript)
    fill_app(page, ssh, "tcp/22", "1.2.3.4", "127.0.0.1:2222")
    assert submit(page, "Create application") == 303
    expect(page.get_by_role("status")).to_have_text("The Spectrum application was created.")
    row = app_row(page, ssh)
    expect(row).to_contain_text("tcp/22")
    expect(row).to_contain_text("1.2.3.4")
    expect(row).to_contain_text("tcp://127.0.0.1:2222")
    expect(row).to_contain_text("Active")
    checked(page, request, "app-listed", axe=javascript)
    [app] = s.apps()
    assert (app["dns"], app["edge_ips"], app["origin_direct"]) == (
        {"type": "ADDRESS", "name": ssh},
        {"type": "static", "ips": ["1.2.3.4"]},
        ["tcp://127.0.0.1:2222"],
    )

    # 1.2.3.5 is A's, not delegated to B: refused with 11019, the reason next to Edge IPs, nothing stored.
    page.get_by_role("link", name="Create application").click()
    fill_app(page, f"other.{s.zone['name']}", "tcp/2022", "1.2.3.5", "127.0.0.1:2222")
    assert submit(page, "Create application") == 400
    error = field_error(page, "Edge IPs")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text(NOT_AUTHORIZED)
    expect(error).to_contain_text("1.2.3.5: ip_not_usable")
    expect(page.get_by_label("Edge IPs", exact=True)).to_have_value("1.2.3.5")  # what was typed stays
    checked(page, request, "refused-edge-ip", axe=javascript)
    assert len(s.apps()) == 1

    # A second app, then deleted (the first stays).
    page.get_by_label("Hostname", exact=True).fill(f"web.{s.zone['name']}")
    page.get_by_label("Protocol", exact=True).fill("tcp/8000-8010")
    page.get_by_label("Edge IPs", exact=True).fill("1.2.3.4")
    page.get_by_label("Origin", exact=True).fill("127.0.0.1:9000-9010")
    assert submit(page, "Create application") == 400  # a direct origin carries one port
    expect(field_error(page, "Origin")).to_contain_text("origin_direct entry")
    page.get_by_label("Origin", exact=True).fill("origin.example.org:9000-9010")
    assert submit(page, "Create application") == 303
    expect(app_row(page, f"web.{s.zone['name']}")).to_contain_text("origin.example.org:9000-9010")
    assert len(s.apps()) == 2
    if javascript:
        page.once("dialog", lambda dialog: dialog.accept())
    web_row = app_row(page, f"web.{s.zone['name']}")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        web_row.get_by_role("button", name="Delete").click()
    assert answer.value.status == 303
    expect(page.get_by_role("status")).to_have_text("The Spectrum application was deleted.")
    expect(app_row(page, f"web.{s.zone['name']}")).to_have_count(0)
    expect(app_row(page, ssh)).to_have_count(1)
    checked(page, request, "second-app-deleted", axe=javascript)
    assert [a["dns"]["name"] for a in s.apps()] == [ssh]


def test_spectrum_apps_create_refuse_edit_delete(
    chromium: Browser, stage: Stage, request: pytest.FixtureRequest
) -> None:
    s = stage
    context, page = signed_in(chromium, s.console, s.bee)
    create_app_refuse_and_delete(page, s, request, javascript=True)

    # Edit: the form is prefilled; a new origin port is saved.
    ssh = f"ssh.{s.zone['name']}"
    app_row(page, ssh).get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edit application")
    expect(page.get_by_label("Hostname", exact=True)).to_have_value(ssh)
    expect(page.get_by_label("Protocol", exact=True)).to_have_value("tcp/22")
    expect(page.get_by_label("Edge IPs", exact=True)).to_have_value("1.2.3.4")
    expect(page.get_by_label("Origin", exact=True)).to_have_value("127.0.0.1:2222")
    checked(page, request, "edit-form")
    page.get_by_label("Origin", exact=True).fill("127.0.0.1:2223")
    page.get_by_label("Proxy protocol").select_option("v2")
    assert submit(page, "Save application") == 303
    expect(page.get_by_role("status")).to_have_text("The Spectrum application was saved.")
    expect(app_row(page, ssh)).to_contain_text("tcp://127.0.0.1:2223")
    expect(app_row(page, ssh)).to_contain_text("Proxy protocol v2")
    checked(page, request, "app-saved")
    [app] = s.apps()
    assert (app["origin_direct"], app["proxy_protocol"], app["edge_ips"]["ips"]) == (
        ["tcp://127.0.0.1:2223"],
        "v2",
        ["1.2.3.4"],
    )

    # An edit onto a refused IP keeps the app as it was.
    app_row(page, ssh).get_by_role("link", name="Edit").click()
    page.get_by_label("Edge IPs", exact=True).fill("1.2.3.4, 1.2.3.6")
    assert submit(page, "Save application") == 400
    expect(field_error(page, "Edge IPs")).to_contain_text("1.2.3.6: ip_not_usable")
    expect(field_error(page, "Edge IPs")).not_to_contain_text("1.2.3.4:")
    assert s.apps()[0]["edge_ips"]["ips"] == ["1.2.3.4"]
    context.close()


def test_create_app_flow_without_javascript(chromium: Browser, stage: Stage, request: pytest.FixtureRequest) -> None:
    context, page = signed_in(chromium, stage.console, stage.bee, javascript=False)
    create_app_refuse_and_delete(page, stage, request, javascript=False)
    context.close()


def test_a_blocked_app_shows_its_reason(chromium: Browser, stage: Stage, request: pytest.FixtureRequest) -> None:
    s = stage
    ssh = f"ssh.{s.zone['name']}"
    spec = AppInput(
        protocol="tcp/22",
        dns_type="ADDRESS",
        dns_name=ssh,
        edge_ips_type="static",
        edge_ips=("1.2.3.4",),
        origin_direct=("tcp://127.0.0.1:2222",),
    )
    spectrum.create_app(s.console.db, Actor.cli(), s.zone["id"], spec)
    delegations.delete_delegation(s.console.db, Actor.cli(), s.a, s.prefix_id, s.spectrum_delegation, force=True)
    [app] = s.apps()
    assert app["status"] == "blocked" and app["blocked_reason"]
    context, page = signed_in(chromium, s.console, s.bee)
    open_spectrum(page, s)
    row = app_row(page, ssh)
    expect(row).to_contain_text("Blocked")
    expect(row).to_contain_text(app["blocked_reason"])
    checked(page, request, "app-blocked")
    context.close()


def test_custom_hostnames_fallback_txt_record_validate_and_delete(
    chromium: Browser, stage: Stage, request: pytest.FixtureRequest
) -> None:
    s = stage
    shop = f"shop-{secrets.token_hex(4)}.example.net"
    context, page = signed_in(chromium, s.console, s.bee)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Zones").click()
    page.get_by_role("row").filter(has_text=s.zone["name"]).get_by_role("link", name="Custom hostnames").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Custom hostnames")
    checked(page, request, "hostnames-empty")

    # No fallback origin yet: 2002, shown by the form, nothing stored.
    page.get_by_label("Hostname", exact=True).fill(shop)
    assert submit(page, "Add custom hostname") == 400
    expect(page.locator("#form-error")).to_contain_text(NO_FALLBACK)
    expect(page.get_by_label("Hostname", exact=True)).to_have_value(shop)
    assert s.hostnames() == []

    # A fallback origin outside the zone is refused next to its field; one inside is saved.
    page.get_by_label("Fallback origin").fill("fallback.elsewhere.example.org")
    assert submit(page, "Save fallback origin") == 400
    expect(field_error(page, "Fallback origin")).to_contain_text("must be a name in the zone")
    checked(page, request, "fallback-refused")
    fallback = f"fallback.{s.zone['name']}"
    page.get_by_label("Fallback origin").fill(fallback)
    assert submit(page, "Save fallback origin") == 303
    expect(page.get_by_role("status")).to_have_text("The fallback origin was saved.")
    expect(page.get_by_label("Fallback origin")).to_have_value(fallback)

    # What a tenant typed is shown as text, never as markup.
    page.get_by_label("Hostname", exact=True).fill('<img src=x id="injected">.example.net')
    assert submit(page, "Add custom hostname") == 400
    expect(field_error(page, "Hostname")).to_contain_text('<img src=x id="injected">')
    assert page.locator("#injected").count() == 0

    page.get_by_label("Hostname", exact=True).fill(shop)
    assert submit(page, "Add custom hostname") == 303
    expect(page.get_by_role("status")).to_have_text("The custom hostname was created.")
    [host] = s.hostnames()
    txt = host["ownership_verification"]
    assert txt["name"] == f"_cf-custom-hostname.{shop}"
    row = hostname_row(page, shop)
    expect(row).to_contain_text("pending")
    expect(row).to_contain_text("initializing")
    expect(row.locator("code", has_text=txt["name"])).to_have_text(txt["name"])
    expect(row.locator("code", has_text=txt["value"])).to_have_text(txt["value"])
    checked(page, request, "hostname-created")

    # The same name again: 2003 next to the Hostname field.
    page.get_by_label("Hostname", exact=True).fill(shop)
    assert submit(page, "Add custom hostname") == 409
    expect(field_error(page, "Hostname")).to_contain_text("already a custom hostname of this zone")

    # Validate now with nothing in DNS: still pending, the reasons listed.
    assert submit(page, f"Validate now {shop}") == 303
    expect(page.get_by_role("status")).to_have_text("The custom hostname was checked again.")
    row = hostname_row(page, shop)
    expect(row).to_contain_text("pending")
    expect(row.get_by_role("listitem").first).to_have_text(NO_CNAME)
    checked(page, request, "validated-pending")

    # An address B may not use for CDN (1.2.3.5 is A's, bound to Spectrum): its reason is listed.
    s.dns.set(shop, "A", "1.2.3.5")
    s.dns.set(txt["name"], "TXT", txt["value"])
    assert submit(page, f"Validate now {shop}") == 303
    expect(hostname_row(page, shop)).to_contain_text("1.2.3.5: ip_not_usable")
    assert s.hostnames()[0]["status"] == "pending"

    # The TXT record and an address delegated to B and bound to CDN: active.
    s.dns.set(shop, "A", "1.2.3.130")
    assert submit(page, f"Validate now {shop}") == 303
    row = hostname_row(page, shop)
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("None")
    checked(page, request, "validated-active")
    [host] = s.hostnames()
    assert (host["status"], host["verification_errors"]) == ("active", [])

    page.once("dialog", lambda dialog: dialog.accept())
    assert submit(page, f"Delete {shop}") == 303
    expect(page.get_by_role("status")).to_have_text("The custom hostname was deleted.")
    expect(hostname_row(page, shop)).to_have_count(0)
    checked(page, request, "hostname-deleted")
    assert s.hostnames() == []
    context.close()


def test_zones_page_adds_a_zone(chromium: Browser, stage: Stage, request: pytest.FixtureRequest) -> None:
    s = stage
    context, page = signed_in(chromium, s.console, s.bee)
    page.goto(f"{s.base}/accounts/{s.b}/zones")
    expect(page.get_by_role("rowheader", name=s.zone["name"])).to_be_visible()
    checked(page, request, "zones")
    page.get_by_label("Zone name").fill("not a zone")
    assert submit(page, "Add zone") == 400
    expect(field_error(page, "Zone name")).to_contain_text("not a valid DNS name")
    name = f"new{secrets.token_hex(4)}.example.com"
    page.get_by_label("Zone name").fill(name)
    assert submit(page, "Add zone") == 303
    expect(page.get_by_role("status")).to_have_text("The zone was added.")
    expect(page.get_by_role("rowheader", name=name)).to_be_visible()
    page.get_by_label("Zone name").fill(name)
    assert submit(page, "Add zone") == 409
    expect(field_error(page, "Zone name")).to_contain_text("already exists")
    assert sorted(s.zone_names()) == sorted([s.zone["name"], name])
    context.close()


def test_strangers_and_forged_posts_are_refused(chromium: Browser, stage: Stage) -> None:
    s = stage
    zid = s.zone["id"]
    spec = AppInput(
        protocol="tcp/22",
        dns_type="ADDRESS",
        dns_name=f"ssh.{s.zone['name']}",
        edge_ips_type="static",
        edge_ips=("1.2.3.4",),
        origin_direct=("tcp://127.0.0.1:2222",),
    )
    app = spectrum.create_app(s.console.db, Actor.cli(), zid, spec)
    context, page = signed_in(chromium, s.console, s.bee)
    page.goto(f"{s.base}/zones/{zid}/custom-hostnames")
    page.get_by_label("Fallback origin").fill(f"fallback.{s.zone['name']}")
    assert submit(page, "Save fallback origin") == 303
    page.get_by_label("Hostname", exact=True).fill("shop.example.net")
    assert submit(page, "Add custom hostname") == 303
    [host] = s.hostnames()
    before = (s.apps(), s.hostnames())

    # bee's own form posted without its csrf_token: 403, nothing changes.
    form = {"hostname": f"x.{s.zone['name']}", "protocol": "tcp/23", "edge_ips": "1.2.3.4", "origin": "127.0.0.1:23"}
    answer = context.request.post(f"{s.base}/zones/{zid}/spectrum", form=form, max_redirects=0)
    assert answer.status == 403
    answer = context.request.post(f"{s.base}/zones/{zid}/spectrum/{app.id}/delete", form={}, max_redirects=0)
    assert answer.status == 403
    context.close()

    # ay (only in A) sees none of B's zone pages, and cannot post to them with ay's own valid token.
    context, page = signed_in(chromium, s.console, s.ay)
    page.goto(f"{s.base}/accounts/{s.a}/zones")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    assert token
    for path in (
        f"/accounts/{s.b}/zones",
        f"/zones/{zid}/spectrum",
        f"/zones/{zid}/spectrum/new",
        f"/zones/{zid}/spectrum/{app.id}/edit",
        f"/zones/{zid}/custom-hostnames",
    ):
        answer = context.request.get(s.base + path, max_redirects=0)
        assert answer.status in (403, 404), (path, answer.status)
        assert s.zone["name"] not in answer.text(), path
    posts = {
        f"/accounts/{s.b}/zones": {"name": f"ay{secrets.token_hex(3)}.example.com"},
        f"/zones/{zid}/spectrum": form,
        f"/zones/{zid}/spectrum/{app.id}/edit": {**form, "hostname": f"ssh.{s.zone['name']}"},
        f"/zones/{zid}/spectrum/{app.id}/delete": {},
        f"/zones/{zid}/fallback-origin": {"origin": f"evil.{s.zone['name']}"},
        f"/zones/{zid}/custom-hostnames": {"hostname": "evil.example.net"},
        f"/zones/{zid}/custom-hostnames/{host['id']}/validate": {},
        f"/zones/{zid}/custom-hostnames/{host['id']}/delete": {},
    }
    for path, fields in posts.items():
        answer = context.request.post(s.base + path, form={**fields, "csrf_token": token}, max_redirects=0)
        assert answer.status in (403, 404), (path, answer.status)
    context.close()
    assert (s.apps(), s.hostnames()) == before
    with s.console.api(s.bee) as api:
        fallback = api.get(f"/zones/{zid}/custom_hostnames/fallback_origin").json()["result"]
    assert fallback["origin"] == f"fallback.{s.zone['name']}"
    assert s.zone_names() == [s.zone["name"]]

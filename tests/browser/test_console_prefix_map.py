"""The map on Edit IP Prefixes, read from the DOM of a real browser: one cell per address of a /24, with
the delegated addresses, the app's address and the binding marked; blocks for a /22 and an IPv6 /48."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.console import Console, accessibility_violations, new_context, shot, sign_in
from tests.browser.prefix_scenes import delegate, edit_path, owners, spectrum_app
from tests.support import unique_v4_prefix, unique_v6_prefix


def cells(page: Page) -> dict[str, dict[str, str]]:
    """Every cell of the map by its first address, with its data attributes and its tooltip."""
    found: list[dict[str, str]] = page.eval_on_selector_all(
        "svg.pic g.cell",
        """els => els.map(e => ({ip: e.dataset.ip, state: e.dataset.state, account: e.dataset.account,
                                  marks: e.dataset.marks, binding: e.dataset.binding,
                                  tooltip: e.querySelector('title').textContent}))""",
    )
    return {c["ip"]: c for c in found}


def test_a_24_shows_each_address_with_its_delegation_app_and_binding(
    chromium: Browser, console: Console, request: pytest.FixtureRequest
) -> None:
    o = owners(console, unique_v4_prefix(), bind=True)
    net = o.cidr.removesuffix("0/24")
    delegate(console.db, o, f"{net}4/30", o.b)
    spectrum_app(console.db, o.b, f"{net}5")
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, o.person)
    page.goto(console.base + edit_path(o))

    found = cells(page)
    assert len(found) == 256
    for n in range(256):
        cell = found[f"{net}{n}"]
        if 4 <= n <= 7:
            assert (cell["state"], cell["account"]) == ("delegated", o.b), cell
            assert f"delegated to {o.b_name}" in cell["tooltip"]
        else:
            assert (cell["state"], cell["account"]) == ("owned", ""), cell
        assert cell["marks"] == ("spectrum" if n == 5 else ""), cell
        assert cell["binding"] == "Spectrum"
    assert found[f"{net}5"]["tooltip"].startswith(f"{net}5 — delegated to {o.b_name} — Spectrum app tcp/22 (ssh.z")
    assert found[f"{net}5"]["tooltip"].endswith("— binding: Spectrum")
    svg = page.get_by_role("img", name=f"Map of the addresses of {o.cidr}")
    expect(svg).to_be_visible()
    expect(page.locator("#map-summary")).to_have_text("4 of 256 addresses delegated to 1 account.")
    legend = page.get_by_role("group", name="Legend")
    for text in (
        f"Delegated to {o.b_name}",
        "Not delegated: this account's own",
        "Bound to Spectrum",
        "S: A Spectrum app",
    ):
        expect(legend.get_by_text(text)).to_be_visible()
    assert svg.locator("text.mark").all_text_contents() == ["S"]
    page.get_by_text("The map as a list").click()
    listed = page.locator("details.map-list li").all_inner_texts()
    assert len(listed) == 4 and listed[1] == found[f"{net}5"]["tooltip"]
    assert accessibility_violations(page) == []
    taken = shot(page, request, "map-24")
    svg.screenshot(path=str(taken.with_name("00-map-24-svg-only.png")))  # the map alone, at full size
    context.close()


def test_an_ipv6_48_is_drawn_as_blocks_one_of_them_mixed(
    chromium: Browser, console: Console, request: pytest.FixtureRequest
) -> None:
    cidr = unique_v6_prefix()
    o = owners(console, cidr, bind=True)
    first = cidr.removesuffix("::/48")
    delegate(console.db, o, f"{first}::/57", o.b)  # half of the first /56 block
    delegate(console.db, o, f"{first}:100::/56", o.b)  # the whole second block
    spectrum_app(console.db, o.b, f"{first}::1")
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, o.person)
    page.goto(console.base + edit_path(o))

    found = cells(page)
    assert len(found) == 256
    mixed, whole = found[f"{first}::"], found[f"{first}:100::"]
    assert (mixed["state"], mixed["account"], mixed["marks"]) == ("mixed", o.b, "spectrum")
    assert mixed["tooltip"].startswith(f"{first}::/56 (2^72 addresses) — partly delegated (to {o.b_name})")
    assert (whole["state"], whole["account"]) == ("delegated", o.b)
    assert sorted({c["state"] for ip, c in found.items() if ip not in (f"{first}::", f"{first}:100::")}) == ["owned"]
    expect(page.get_by_text("Each cell is a /56 block of 2^72 addresses.")).to_be_visible()
    expect(page.get_by_role("group", name="Legend").get_by_text("A block whose addresses differ")).to_be_visible()
    assert accessibility_violations(page) == []
    shot(page, request, "map-v6")
    context.close()


def test_a_22_is_drawn_in_blocks_of_four(chromium: Browser, console: Console, request: pytest.FixtureRequest) -> None:
    o = owners(console, "100.1.4.0/22")
    delegate(console.db, o, "100.1.4.2/31", o.b)
    delegate(console.db, o, "100.1.5.0/24", o.b)
    context = new_context(chromium)
    page = context.new_page()
    sign_in(page, console, o.person)
    page.goto(console.base + edit_path(o))
    found = cells(page)
    assert len(found) == 256 and "100.1.4.4" in found and "100.1.4.1" not in found
    assert found["100.1.4.0"]["state"] == "mixed"
    assert found["100.1.4.0"]["tooltip"].startswith(
        f"100.1.4.0/30 (4 addresses) — 2 of 4 addresses delegated (to {o.b_name})"
    )
    assert found["100.1.5.252"]["state"] == "delegated" and found["100.1.6.0"]["state"] == "owned"
    assert found["100.1.6.0"]["binding"] == "" and "no service binding" in found["100.1.6.0"]["tooltip"]
    expect(page.locator("#map-summary")).to_have_text("258 of 1024 addresses delegated to 1 account.")
    shot(page, request, "map-22")
    context.close()

"""Shared by the zone pages' browser tests: the stage (A owns 1.2.3.0/24 bound to Spectrum with 1.2.3.128/25
bound to CDN; A delegates 1.2.3.4/32 and 1.2.3.128/25 to B; B has a zone; "bee" belongs only to B, "ay" only
to A; a loopback DNS server), and the steps the tests take on the pages."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from prefixgate.domain.bindings import CDN, SPECTRUM
from prefixgate.service import bindings, delegations, zones
from prefixgate.service.context import Actor
from tests.browser.console import (
    Console,
    Person,
    accessibility_violations,
    add_person,
    approved_prefix,
    console_server,
    new_account,
    shot,
)
from tests.dnsserver import LoopbackDns
from tests.support import fresh_database_url

NOT_AUTHORIZED = "The authenticated account is not authorized to use the provided edge_ips."
NO_FALLBACK = "Zone does not have a fallback origin set."
NO_CNAME = "Custom hostname does not CNAME to this zone."


@dataclass
class Stage:
    console: Console
    dns: LoopbackDns
    a: str
    b: str
    prefix_id: str
    spectrum_delegation: str
    zone: dict[str, str]
    bee: Person
    ay: Person

    @property
    def base(self) -> str:
        return self.console.base

    def apps(self) -> list[dict[str, Any]]:
        """B's apps, as the API shows them to bee."""
        with self.console.api(self.bee) as api:
            r = api.get(f"/zones/{self.zone['id']}/spectrum/apps")
        assert r.status_code == 200, r.text
        result: list[dict[str, Any]] = r.json()["result"]
        return result

    def zone_names(self) -> list[str]:
        """B's zones, as the API shows them to bee."""
        with self.console.api(self.bee) as api:
            r = api.get("/zones", params={"account.id": self.b, "per_page": 50})
        assert r.status_code == 200, r.text
        return [z["name"] for z in r.json()["result"]]

    def hostnames(self) -> list[dict[str, Any]]:
        with self.console.api(self.bee) as api:
            r = api.get(f"/zones/{self.zone['id']}/custom_hostnames")
        assert r.status_code == 200, r.text
        result: list[dict[str, Any]] = r.json()["result"]
        return result


def zone_stage(engine: str, tmp_path: Path) -> Iterator[Stage]:
    """The stage on `engine`, with a loopback DNS server for validations; stopped afterwards."""
    with LoopbackDns() as dns, fresh_database_url(engine, str(tmp_path)) as url:
        env = {"PREFIXGATE_DNS_SERVER": dns.spec, "PREFIXGATE_REVALIDATE_INTERVAL_S": "0"}
        with contextmanager(console_server)(url, tmp_path, env=env) as console:
            db, cli = console.db, Actor.cli()
            a, b = new_account(db, "Owner A"), new_account(db, "Tenant B")
            prefix_id = approved_prefix(db, a, "1.2.3.0/24", description="A's /24")
            bindings.create_binding(db, cli, a, prefix_id, "1.2.3.0/24", SPECTRUM.id)
            bindings.create_binding(db, cli, a, prefix_id, "1.2.3.128/25", CDN.id)
            delegation = delegations.create_delegation(db, cli, a, prefix_id, "1.2.3.4/32", b)
            delegations.create_delegation(db, cli, a, prefix_id, "1.2.3.128/25", b)
            zone = zones.create_zone(db, cli, b, f"b{secrets.token_hex(4)}.example.com")
            yield Stage(
                console=console,
                dns=dns,
                a=a,
                b=b,
                prefix_id=prefix_id,
                spectrum_delegation=delegation.id,
                zone={"id": zone.id, "name": zone.name},
                bee=add_person(db, "bee", b),
                ay=add_person(db, "ay", a),
            )


def checked(page: Page, request: pytest.FixtureRequest, step: str, *, axe: bool = True) -> None:
    """Every page of the flow: no serious accessibility violation, and a screenshot. axe-core runs as
    script in the page, so with JavaScript off only the screenshot is taken (the same pages are
    checked in the flow with JavaScript on)."""
    if axe:
        assert accessibility_violations(page) == [], step
    shot(page, request, step)


def open_spectrum(page: Page, s: Stage) -> None:
    """Zones (side navigation) > the zone's row > Spectrum applications."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Zones").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Zones")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=s.zone["name"]))
    row.get_by_role("link", name="Spectrum applications").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spectrum applications")
    expect(page.get_by_role("heading", level=1)).to_contain_text(s.zone["name"])


def fill_app(page: Page, hostname: str, protocol: str, edge_ips: str, origin: str, proxy: str = "off") -> None:
    page.get_by_label("Hostname", exact=True).fill(hostname)
    page.get_by_label("Protocol", exact=True).fill(protocol)
    page.get_by_label("Edge IPs", exact=True).fill(edge_ips)
    page.get_by_label("Origin", exact=True).fill(origin)
    page.get_by_label("Proxy protocol").select_option(proxy)


def submit(page: Page, button: str) -> int:
    """Click `button` and return the status of the POST's answer (before any redirect)."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    return answer.value.status


def app_row(page: Page, hostname: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=hostname, exact=True))


def field_error(page: Page, label: str) -> Any:
    """The element that the field's aria-describedby names for its refusal."""
    described = page.get_by_label(label, exact=True).get_attribute("aria-describedby") or ""
    error_ids = [i for i in described.split() if i.endswith("-error")]
    assert len(error_ids) == 1, described
    return page.locator(f"#{error_ids[0]}")


def hostname_row(page: Page, hostname: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(re.escape(hostname))))

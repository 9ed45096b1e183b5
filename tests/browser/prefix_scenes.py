"""Shared by the prefix pages' browser tests: a database's worth of accounts, a prefix bound to
Spectrum, apps on it (made through the service layer, as the API would), and reading a page's CSRF token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.sync_api import Page

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.bindings import SPECTRUM
from prefixgate.service import bindings, delegations, spectrum, zones
from prefixgate.service.context import Actor
from tests.browser.console import Console, Person, add_person, approved_prefix, new_account

CLI = Actor.cli()

__all__ = [
    "CLI",
    "Owners",
    "api_delegations",
    "app_status",
    "csrf_token",
    "edit_path",
    "owners",
    "spectrum_app",
]


@dataclass(frozen=True)
class Owners:
    """A (owner of the prefix) and B; `person` belongs to both."""

    a: str
    b: str
    a_name: str
    b_name: str
    person: Person
    prefix_id: str
    cidr: str


def owners(console: Console, cidr: str, *, b_name: str = "", description: str = "", bind: bool = False) -> Owners:
    label = secrets.token_hex(2)
    a_name, b_name = f"Account A {label}", b_name or f"Account B {label}"
    a, b = new_account(console.db, a_name), new_account(console.db, b_name)
    person = add_person(console.db, "owner", a, b)
    prefix_id = approved_prefix(console.db, a, cidr, description=description)
    if bind:
        bindings.create_binding(console.db, CLI, a, prefix_id, cidr, SPECTRUM.id)
    return Owners(a, b, a_name, b_name, person, prefix_id, cidr)


def edit_path(o: Owners) -> str:
    return f"/accounts/{o.a}/ip-addresses/prefixes/{o.prefix_id}"


def spectrum_app(db: SqlDatabase, account_id: str, ip: str, protocol: str = "tcp/22") -> tuple[str, str]:
    """A Spectrum app of `account_id` on `ip`, in a new zone: (zone id, app id)."""
    zone = zones.create_zone(db, CLI, account_id, f"z{secrets.token_hex(5)}.example.com")
    spec = spectrum.AppInput(
        protocol=protocol,
        dns_type="ADDRESS",
        dns_name=f"ssh.{zone.name}",
        edge_ips_type="static",
        edge_ips=[ip],
        origin_direct=[f"{protocol.partition('/')[0]}://192.0.2.1:22"],
    )
    return zone.id, spectrum.create_app(db, CLI, zone.id, spec).id


def delegate(db: SqlDatabase, o: Owners, cidr: str, to: str) -> str:
    return delegations.create_delegation(db, CLI, o.a, o.prefix_id, cidr, to).id


def api_delegations(console: Console, o: Owners) -> list[dict[str, Any]]:
    with console.api(o.person) as api:
        r = api.get(f"/accounts/{o.a}/addressing/prefixes/{o.prefix_id}/delegations")
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["result"]
    return found


def app_status(console: Console, who: Person, zone_id: str, app_id: str) -> str:
    with httpx.Client(base_url=console.server.api, headers=who.headers, timeout=30) as api:
        r = api.get(f"/zones/{zone_id}/spectrum/apps/{app_id}")
    assert r.status_code == 200, r.text
    return str(r.json()["result"]["status"])


def csrf_token(page: Page) -> str:
    """The signed-in session's CSRF token, as the page's own forms carry it (the sign-out form has one)."""
    return str(page.locator("form.signout input[name=csrf_token]").input_value())

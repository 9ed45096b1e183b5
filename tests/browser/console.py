"""The dashboard under test: `prefixgate serve` as a real process, people who can sign in, a browser,
screenshots kept as artifacts, and axe-core injected for accessibility checks.

Screenshots land in test-artifacts/screenshots/<test>/ (CI keeps that folder). axe-core comes from npm
(scripts/_system.sh installs it into .cache/axe-core); it is read from disk and injected into the page,
so nothing is fetched while a test runs.
"""

from __future__ import annotations

import os
import re
import secrets
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.service import identity, prefixes, sessions, tokens
from prefixgate.service.context import Actor
from tests.procserver import ProcServer
from tests.support import fresh_database_url, migrated_database

__all__ = [
    "Console",
    "Person",
    "accessibility_violations",
    "add_person",
    "approved_prefix",
    "console_server",
    "new_account",
    "new_context",
    "shot",
    "sign_in",
    "signed_in",
    "sqlite_console",
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
_SHOTS: dict[str, int] = {}
AXE = ROOT / ".cache" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"


@dataclass(frozen=True)
class Person:
    """Someone who can sign in to the dashboard, and call the API with their token."""

    email: str
    password: str
    token: str
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Console:
    """A running dashboard and the database behind it (prepared through the service layer)."""

    server: ProcServer
    db: SqlDatabase

    @property
    def base(self) -> str:
        return self.server.base

    def api(self, who: Person) -> httpx.Client:
        return httpx.Client(base_url=self.server.api, headers=who.headers, timeout=30)


def add_person(db: SqlDatabase, label: str, *accounts: str, operator: bool = False) -> Person:
    """A user with a password and an API token, Administrator of each of `accounts`."""
    cli = Actor.cli()
    email = f"{label}-{secrets.token_hex(3)}@example.com"
    password = secrets.token_urlsafe(12)
    user, _ = identity.create_user(db, cli, email, password=None, operator=operator)
    sessions.set_password(db, cli, email, password)
    for account_id in accounts:
        identity.add_member(db, cli, account_id, email, ["Administrator"])
    _, token = tokens.create_token(db, cli, "browser-test", user=user)
    return Person(email=email, password=password, token=token, user_id=user.id)


def new_account(db: SqlDatabase, name: str) -> str:
    return identity.create_account(db, Actor.cli(), name).id


def approved_prefix(db: SqlDatabase, account_id: str, cidr: str, *, description: str = "") -> str:
    cli = Actor.cli()
    p = prefixes.create_prefix(db, cli, account_id, cidr, asn=13335, description=description)
    prefixes.approve_prefix(db, cli, p.id)
    return p.id


def console_server(url: str, workdir: Path, *, env: dict[str, str] | None = None) -> Iterator[Console]:
    """`prefixgate serve` on `url` (migrated first) and a free loopback port, stopped afterwards."""
    db = migrated_database(url)
    server = ProcServer(url, workdir, env=env).start()
    try:
        yield Console(server=server, db=db)
    finally:
        server.stop()
        db.dispose()


def sqlite_console(tmp_path_factory: pytest.TempPathFactory, label: str) -> Iterator[Console]:
    """A dashboard on a fresh SQLite database of its own, in a new folder named after `label`."""
    folder = tmp_path_factory.mktemp(label)
    with fresh_database_url("sqlite", str(folder)) as url:
        yield from console_server(url, folder)


_WITHOUT_JAVASCRIPT: weakref.WeakSet[BrowserContext] = weakref.WeakSet()


def new_context(browser: Browser, *, javascript: bool = True) -> BrowserContext:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    if not javascript:
        _WITHOUT_JAVASCRIPT.add(context)
    return context


def sign_in(page: Page, console: Console, who: Person) -> None:
    page.goto(f"{console.base}/login")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]


def signed_in(
    browser: Browser, console: Console, who: Person, *, javascript: bool = True
) -> tuple[BrowserContext, Page]:
    """A new browser context (closed by the caller) and its page, signed in as `who`."""
    context = new_context(browser, javascript=javascript)
    page = context.new_page()
    sign_in(page, console, who)
    return context, page


def shot(page: Page, request: pytest.FixtureRequest, step: str) -> Path:
    """Save a full-page screenshot of this step of the test, as an artifact."""
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    taken = _SHOTS.get(request.node.nodeid, 0)
    if taken == 0:  # a rerun replaces the last run's pictures
        for old in folder.glob("*.png"):
            old.unlink()
    _SHOTS[request.node.nodeid] = taken + 1
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{taken:02d}-{step}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def accessibility_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page (WCAG 2 A and AA rules)."""
    # axe-core runs in the page and needs its timers: in a context without JavaScript it would never
    # finish. The same pages are checked in the tests that run with JavaScript.
    assert page.context not in _WITHOUT_JAVASCRIPT, "axe-core cannot run where JavaScript is off"
    if not AXE.exists():
        message = f"{AXE} is missing: scripts/test installs axe-core with npm"
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(message)
        pytest.skip(message)
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not govern
    # (an injected <script> tag would be refused, as it should be).
    page.evaluate(AXE.read_text() + "\n;undefined")
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]

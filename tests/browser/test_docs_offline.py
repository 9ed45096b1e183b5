"""The API docs work offline: Swagger UI and ReDoc take everything they load from prefixgate itself.

Debian's Chromium (driven by Playwright) renders both pages from a real server and records every
request they make. Each page is loaded twice: at 127.0.0.1, and at docs.test, a name Chromium is
told resolves to 127.0.0.1 (a page may behave differently off loopback, and every other name is made
unresolvable). A route on the browser context lets only requests to the server through, so nothing
can leave this machine even if a page tried; none may try. ReDoc's sidebar asks for its vendor's logo
from a public host on its own; the page's Content-Security-Policy refuses that image inside the
browser, so it is never sent. The same-origin HTML checks below run without a browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Playwright, Request, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from prefixgate.settings import Settings
from tests.browser.chromium import launched_chromium
from tests.browser.pages import asset_urls, page_html
from tests.support import Server

# Every other name is unresolvable; docs.test is this machine.
HOST_RULES = "--host-resolver-rules=MAP docs.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
HOSTS = ("127.0.0.1", "docs.test")
# page -> (what shows it rendered the document, how many of those at least)
PAGES = {
    "docs": (".swagger-ui .opblock-summary-path", 25),
    "redoc": ("h2:has-text('Create Prefix'), h1:has-text('prefixgate')", 2),
}
PAGE_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The pages do not touch the database: one SQLite server serves every test here."""
    server = Server(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('docs')}/docs.db")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    yield from launched_chromium(playwright, [HOST_RULES])


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_with_nothing_from_another_host(
    browser: Browser, docs_server: Server, host: str, name: str
) -> None:
    origin = f"http://{host}:{docs_server.port}"
    selector, at_least = PAGES[name]
    context = browser.new_context()  # a fresh cache, so every asset is really requested
    requested: list[Request] = []
    refused_by_policy: list[Request] = []
    stopped_at_gate: list[str] = []

    def gate(route: Route) -> None:
        if route.request.url.startswith(f"{origin}/"):
            route.continue_()
        else:
            stopped_at_gate.append(route.request.url)
            route.abort()

    try:
        context.route("**/*", gate)
        page = context.new_page()
        page.on("request", lambda r: requested.append(r))
        page.on("requestfailed", lambda r: refused_by_policy.append(r) if r.failure == "csp" else None)
        response = page.goto(f"{origin}/client/v4/{name}", timeout=PAGE_TIMEOUT_MS)
        assert response is not None and response.status == 200
        try:
            page.wait_for_selector(selector, timeout=PAGE_TIMEOUT_MS)
            page.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
        except PlaywrightTimeout:
            pytest.fail(f"the page did not render; requests to other hosts: {stopped_at_gate}")
        assert page.locator(selector).count() >= at_least, "the page did not render the API document"
    finally:
        context.close()

    assert stopped_at_gate == [], "the page sent requests to other hosts"
    elsewhere = [r for r in requested if not r.url.startswith(f"{origin}/") and not r.url.startswith("data:")]
    assert {r.url for r in elsewhere} == {r.url for r in refused_by_policy}, "an off-host request was not refused"
    assert all(r.resource_type == "image" for r in elsewhere), [(r.url, r.resource_type) for r in elsewhere]
    paths = {r.url.removeprefix(origin) for r in requested if r.url.startswith(f"{origin}/")}
    assert {f"/client/v4/{name}", "/client/v4/openapi.json", *asset_urls(page_html(docs_server, name))} <= paths


CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_asset_in_the_html_is_served_by_prefixgate(docs_server: Server, name: str) -> None:
    html = page_html(docs_server, name)
    assert re.search(r"(https?:)?//", html) is None, "the page names another host"
    urls = asset_urls(html)
    assert len(urls) >= 2, urls  # the UI's script, and the favicon (and Swagger's stylesheet)
    spec = re.findall(r"""(?:url: |spec-url=)['"]([^'"]+)['"]""", html)
    assert spec == ["/client/v4/openapi.json"], spec
    for url in [*urls, *spec]:
        assert url.startswith("/client/v4/"), url
        r = httpx.get(f"{docs_server.base}{url}", timeout=30)
        assert r.status_code == 200, (url, r.status_code)
        expected = CONTENT_TYPES.get(Path(url).suffix, "application/json")
        assert expected in r.headers["content-type"], (url, r.headers["content-type"])
        assert len(r.content) > 1000, url


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_let_the_browser_load_only_from_their_own_origin(docs_server: Server, name: str) -> None:
    r = httpx.get(f"{docs_server.api}/{name}", timeout=30)
    policy: dict[str, Any] = {
        part.split()[0]: part.split()[1:] for part in r.headers["content-security-policy"].split(";") if part.strip()
    }
    assert policy["default-src"] == ["'self'"]
    for directive, sources in policy.items():
        assert all(s.startswith("'") or s in ("data:", "blob:") for s in sources), (directive, sources)


def test_unknown_asset_is_a_404_in_the_envelope(docs_server: Server) -> None:
    r = httpx.get(f"{docs_server.api}/docs-assets/nope.js", timeout=30)
    assert r.status_code == 404
    assert r.json()["success"] is False and r.json()["errors"][0]["code"] == 7000

"""Reading the docs pages' HTML: shared by the browser and packaging tests."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx

from tests.support import Server


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls.extend(value for key, value in attrs if key in ("src", "href") and value)


def asset_urls(html: str) -> list[str]:
    """Every src and href in the page, in order."""
    parser = _Links()
    parser.feed(html)
    return parser.urls


def page_html(server: Server, name: str) -> str:
    """The HTML of /client/v4/{name}, checked to be a 200 text/html answer."""
    r = httpx.get(f"{server.api}/{name}", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
    return r.text

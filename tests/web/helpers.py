"""Talking to the dashboard over real HTTP without a browser: a cookie-keeping client that signs in
through the login form, people with passwords, and checks on the HTML pages that come back."""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Protocol

import httpx

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.service import identity, sessions, tokens
from prefixgate.service.context import Actor
from prefixgate.web.viewer import COOKIE

LOGIN_CSRF = "prefixgate_login_csrf"
_HIDDEN = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]*)">')
_ALERT = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)


@dataclass(frozen=True)
class Person:
    email: str
    password: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_person(db: SqlDatabase, label: str, *account_ids: str, role: str = "Administrator") -> Person:
    """A user with a dashboard password and an API token, holding `role` in each account."""
    cli = Actor.cli()
    email = f"{label}-{secrets.token_hex(4)}@example.com"
    user, _ = identity.create_user(db, cli, email, password=None, operator=False)
    password = secrets.token_urlsafe(12)
    sessions.set_password(db, cli, email, password)
    for account_id in account_ids:
        identity.add_member(db, cli, account_id, email, [role])
    _, token = tokens.create_token(db, cli, "web-test", user=user)
    return Person(email=email, password=password, user_id=user.id, token=token)


def new_account(db: SqlDatabase, name: str) -> str:
    return identity.create_account(db, Actor.cli(), name).id


def fake_ip() -> str:
    """A client address of this test's own: the server trusts X-Forwarded-For from loopback (uvicorn's
    default), so each test's failed logins count under an address no other test uses."""
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """The Set-Cookie headers of `response`, by cookie name: value and attributes (lower-case names;
    flags such as HttpOnly map to "")."""
    found: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        value, *attrs = rest.split(";")
        found[name] = {"value": value}
        for attr in attrs:
            key, _, v = attr.strip().partition("=")
            found[name][key.lower()] = v
    assert all(SimpleCookie(h) for h in response.headers.get_list("set-cookie"))
    return found


def alert(response: httpx.Response) -> str:
    """The page's error message (role=alert), unescaped."""
    match = _ALERT.search(response.text)
    assert match, response.text[:3000]
    return html.unescape(match.group(1)).strip()


def assert_page(response: httpx.Response, status: int) -> str:
    """An HTML dashboard page with this status (never a traceback); returns its text."""
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith("text/html"), response.headers
    assert "Traceback" not in response.text
    return response.text


class Site(Protocol):
    """A running server: tests.support.Server in a thread, or tests.procserver.ProcServer."""

    base: str


class WebClient:
    """One browser's worth of cookies, on one client address of its own."""

    def __init__(self, server: Site, *, ip: str | None = None, https: bool = False) -> None:
        self.server = server
        self.ip = ip or fake_ip()
        headers = {"X-Forwarded-For": self.ip, "Accept": "text/html"}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        self.http = httpx.Client(base_url=server.base, headers=headers, timeout=30, follow_redirects=False)

    def __enter__(self) -> WebClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def get(self, path: str, **kw: object) -> httpx.Response:
        return self.http.get(path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, **kw: object) -> httpx.Response:
        return self.http.post(path, **kw)  # type: ignore[arg-type]

    def login_token(self) -> str:
        """Open the login page: its form's CSRF token (and the matching cookie, kept)."""
        r = self.get("/login")
        assert_page(r, 200)
        match = _HIDDEN.search(r.text)
        assert match
        return match.group(1)

    def try_login(self, email: str, password: str, *, next_: str = "/") -> httpx.Response:
        token = self.login_token()
        return self.post("/login", data={"csrf_token": token, "email": email, "password": password, "next": next_})

    def sign_in(self, who: Person) -> httpx.Response:
        r = self.try_login(who.email, who.password)
        assert r.status_code == 303, (r.status_code, r.text[:2000])
        assert self.session
        return r

    @property
    def session(self) -> str | None:
        return self.http.cookies.get(COOKIE)

    def csrf(self, path: str = "/accounts") -> str:
        """The CSRF token of this session, as a page's forms carry it."""
        r = self.get(path)
        assert_page(r, 200)
        match = _HIDDEN.search(r.text)
        assert match, r.text[:2000]
        return match.group(1)

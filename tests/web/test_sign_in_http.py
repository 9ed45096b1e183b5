"""Signing in and out over real HTTP: the cookies' attributes, the login form's CSRF token, the
failed-login throttle (429 with Retry-After, per email and per client address, ending after the
cool-down), and no open redirect after a login."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import func, select

from prefixgate.adapters.db.tables import web_sessions
from prefixgate.web.viewer import COOKIE
from tests.support import Server
from tests.web.conftest import COOLDOWN_S, MAX_FAILURES
from tests.web.helpers import LOGIN_CSRF, Person, WebClient, add_person, alert, assert_page, new_account, set_cookies


@pytest.fixture
def person(web_server: Server) -> Person:
    return add_person(web_server.db, "signin", new_account(web_server.db, "Sign-in Co"))


def sessions_of(server: Server, who: Person) -> int:
    with server.db.engine.connect() as conn:
        count = conn.execute(select(func.count()).where(web_sessions.c.user_id == who.user_id)).scalar_one()
    return int(count)


# --- cookies --------------------------------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_samesite_lax_on_the_whole_site_and_not_secure_over_http(
    web_server: Server, person: Person
) -> None:
    with WebClient(web_server) as web:
        r = web.sign_in(person)
    cookie = set_cookies(r)[COOKIE]
    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert "secure" not in cookie  # plain http: a Secure cookie would never come back
    assert int(cookie["max-age"]) == int(web_server.settings.session_idle_s)
    assert len(cookie["value"]) >= 40


def test_over_https_both_cookies_are_secure(web_server: Server, person: Person) -> None:
    # uvicorn trusts X-Forwarded-Proto from loopback (forwarded_allow_ips defaults to 127.0.0.1 and ::1),
    # as from a TLS-terminating proxy on the same host: the request's scheme is then https. The client
    # itself speaks plain http, so it would not send Secure cookies back: the test sends them by hand.
    with WebClient(web_server, https=True) as web:
        login_page = web.get("/login")
        login_cookie = set_cookies(login_page)[LOGIN_CSRF]
        r = web.post(
            "/login",
            data={"csrf_token": login_cookie["value"], "email": person.email, "password": person.password},
            headers={"Cookie": f"{LOGIN_CSRF}={login_cookie['value']}"},
        )
    assert r.status_code == 303, r.text[:2000]
    assert "secure" in login_cookie and "httponly" in login_cookie
    assert login_cookie["samesite"].lower() == "strict" and login_cookie["path"] == "/login"
    session = set_cookies(r)[COOKIE]
    assert "secure" in session and "httponly" in session and session["samesite"].lower() == "lax"
    assert session["path"] == "/"


def test_a_sign_in_drops_the_login_forms_cookie(web_server: Server, person: Person) -> None:
    with WebClient(web_server) as web:
        r = web.sign_in(person)
        assert web.http.cookies.get(LOGIN_CSRF, path="/login") is None
    assert set_cookies(r)[LOGIN_CSRF]["max-age"] == "0"


# --- the login form's CSRF token ----------------------------------------------------------------------------


def test_a_login_post_without_the_forms_cookie_is_refused_and_opens_no_session(
    web_server: Server, person: Person
) -> None:
    with WebClient(web_server) as web:
        token = web.login_token()
        web.http.cookies.clear()  # a cross-site form: the SameSite=Strict cookie is not sent
        r = web.post("/login", data={"csrf_token": token, "email": person.email, "password": person.password})
        assert_page(r, 403)
        assert alert(r) == "The sign-in form expired; please try again."
        assert COOKIE not in set_cookies(r)
        assert web.session is None
    assert sessions_of(web_server, person) == 0


@pytest.mark.parametrize("token", ["", "forged-token", None])
def test_a_login_post_with_a_missing_or_wrong_token_is_refused(
    web_server: Server, person: Person, token: str | None
) -> None:
    with WebClient(web_server) as web:
        web.login_token()  # the cookie is there; the form's field is not, or does not match it
        form = {"email": person.email, "password": person.password}
        if token is not None:
            form["csrf_token"] = token
        r = web.post("/login", data=form)
        assert_page(r, 403)
        assert web.session is None
    assert sessions_of(web_server, person) == 0


def test_another_browsers_token_does_not_fit_this_ones_cookie(web_server: Server, person: Person) -> None:
    with WebClient(web_server) as attacker, WebClient(web_server) as victim:
        stolen = attacker.login_token()
        victim.login_token()
        r = victim.post("/login", data={"csrf_token": stolen, "email": person.email, "password": person.password})
        assert_page(r, 403)


# --- the throttle ---------------------------------------------------------------------------------------------


def wait_until_allowed(web: WebClient, who: Person, timeout: float = 10 * COOLDOWN_S + 5) -> httpx.Response:
    """Sign in again and again until the cool-down has passed (polling, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        r = web.try_login(who.email, who.password)
        if r.status_code != 429 or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def assert_throttled(r: httpx.Response) -> int:
    assert_page(r, 429)
    assert alert(r).startswith("Too many failed logins; try again in ")
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= COOLDOWN_S + 1
    assert COOKIE not in set_cookies(r)
    return retry


def test_repeated_bad_passwords_for_one_account_get_429_from_any_address(web_server: Server, person: Person) -> None:
    for _ in range(MAX_FAILURES):  # each from an address of its own: the count is the account's
        with WebClient(web_server) as web:
            r = web.try_login(person.email, "wrong password")
            assert_page(r, 401)
            assert alert(r) == "Wrong email or password."
    with WebClient(web_server) as web:
        assert_throttled(web.try_login(person.email, "wrong password"))
        # The right password during the cool-down is refused alike, and opens no session.
        assert_throttled(web.try_login(person.email, person.password))
        assert web.session is None
        assert sessions_of(web_server, person) == 0
        # After the cool-down, the right password works again.
        r = wait_until_allowed(web, person)
        assert r.status_code == 303, r.text[:2000]
        assert r.headers["location"] == "/"
        assert web.get("/accounts").status_code == 200


def test_repeated_failures_from_one_address_get_429_for_every_email(web_server: Server, person: Person) -> None:
    with WebClient(web_server) as web:
        for i in range(MAX_FAILURES):
            assert_page(web.try_login(f"guess-{i}-{person.email}", "a guess"), 401)
        # Someone whose own count is clean, with the right password, from that address: refused.
        assert_throttled(web.try_login(person.email, person.password))
        with WebClient(web_server) as elsewhere:  # from another address: fine
            elsewhere.sign_in(person)
        r = wait_until_allowed(web, person)
        assert r.status_code == 303


def test_the_login_page_keeps_the_typed_email_but_never_the_password(web_server: Server, person: Person) -> None:
    with WebClient(web_server) as web:
        r = web.try_login(person.email, "my-wrong-secret")
    text = assert_page(r, 401)
    assert f'value="{person.email}"' in text
    assert "my-wrong-secret" not in text


# --- where a login leads --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/accounts",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_a_login_never_redirects_off_site(web_server: Server, person: Person, target: str) -> None:
    with WebClient(web_server) as web:
        page = web.get("/login", params={"next": target})
        assert 'name="next" value="/"' in page.text
        r = web.try_login(person.email, person.password, next_=target)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_a_login_returns_to_the_page_asked_for(web_server: Server, person: Person) -> None:
    with WebClient(web_server) as web:
        first = web.get("/accounts/ip-less")
        assert first.status_code == 303 and first.headers["location"] == "/login?next=/accounts/ip-less"
        r = web.try_login(person.email, person.password, next_="/accounts")
    assert r.status_code == 303 and r.headers["location"] == "/accounts"


# --- signing out ----------------------------------------------------------------------------------------------


def test_logout_needs_the_sessions_csrf_token(web_server: Server, person: Person) -> None:
    with WebClient(web_server) as web:
        web.sign_in(person)
        for form in ({}, {"csrf_token": "forged"}):
            r = web.post("/logout", data=form)
            assert_page(r, 403)
            assert "security token" in alert(r)
        assert web.get("/accounts").status_code == 200  # still signed in
        r = web.post("/logout", data={"csrf_token": web.csrf()})
        assert r.status_code == 303 and r.headers["location"] == "/login?notice=signed-out"
        assert set_cookies(r)[COOKIE]["max-age"] == "0"
        assert web.session is None
    assert sessions_of(web_server, person) == 0


def test_a_signed_out_cookie_opens_nothing(web_server: Server, person: Person) -> None:
    with WebClient(web_server) as web:
        web.sign_in(person)
        cookie = web.session
        assert cookie is not None
        web.post("/logout", data={"csrf_token": web.csrf()})
    with WebClient(web_server) as replay:
        replay.http.cookies.set(COOKIE, cookie)
        r = replay.get("/accounts")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_logout_without_a_session_goes_to_the_login_page(web_server: Server) -> None:
    with WebClient(web_server) as web:
        r = web.post("/logout", data={"csrf_token": "anything"})
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/"

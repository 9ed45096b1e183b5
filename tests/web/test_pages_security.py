"""What every dashboard page promises over real HTTP: its security headers, the API never riding the
session cookie, HTML 404s for browsers (JSON ones under /client/v4), tenants kept out of each other's
pages, CSRF tokens on posts, and bad form bodies answered with a 4xx page, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from prefixgate.web.security import CONTENT_SECURITY_POLICY
from prefixgate.web.viewer import COOKIE
from tests.support import Server
from tests.web.helpers import Person, WebClient, add_person, alert, assert_page, new_account


@dataclass
class Tenants:
    a: str
    b: str
    alice: Person  # Administrator of A
    bob: Person  # Administrator of B only


@pytest.fixture
def tenants(web_server: Server) -> Tenants:
    db = web_server.db
    a, b = new_account(db, "Tenant A"), new_account(db, "Tenant B")
    return Tenants(a, b, add_person(db, "alice", a), add_person(db, "bob", b))


@pytest.fixture
def bob_web(web_server: Server, tenants: Tenants) -> Iterator[WebClient]:
    with WebClient(web_server) as web:
        web.sign_in(tenants.bob)
        yield web


def assert_dashboard_headers(r: httpx.Response) -> None:
    csp = r.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    directives = {d.split()[0]: d.split()[1:] for d in (part.strip() for part in csp.split(";")) if d}
    assert directives["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["frame-ancestors"] == ["'none'"]
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-content-type-options"] == "nosniff"


# --- headers --------------------------------------------------------------------------------------------------


def test_every_kind_of_page_carries_the_security_headers(web_server: Server, tenants: Tenants) -> None:
    with WebClient(web_server) as web:
        responses = {"login": web.get("/login"), "redirect to login": web.get("/accounts")}
        web.sign_in(tenants.alice)
        responses |= {
            "account page": web.get(f"/accounts/{tenants.a}"),
            "prefixes page": web.get(f"/accounts/{tenants.a}/ip-addresses/prefixes"),
            "audit log": web.get(f"/accounts/{tenants.a}/audit-log"),
            "error page (403)": web.get(f"/accounts/{tenants.b}"),
            "error page (400)": web.get(f"/accounts/{tenants.a}/audit-log?page=abc"),
            "404 page": web.get("/no/such/page"),
            "script": web.get("/static/app.js"),
            "stylesheet": web.get("/static/app.css"),
        }
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses == {
        "login": 200,
        "redirect to login": 303,
        "account page": 200,
        "prefixes page": 200,
        "audit log": 200,
        "error page (403)": 403,
        "error page (400)": 400,
        "404 page": 404,
        "script": 200,
        "stylesheet": 200,
    }
    for name, r in responses.items():
        try:
            assert_dashboard_headers(r)
        except (AssertionError, KeyError) as exc:
            raise AssertionError(f"{name}: {exc!r}: {dict(r.headers)}") from None


def test_pages_are_not_cached(web_server: Server, tenants: Tenants) -> None:
    with WebClient(web_server) as web:
        web.sign_in(tenants.alice)
        assert web.get(f"/accounts/{tenants.a}").headers["cache-control"] == "no-store"


def test_an_unknown_page_answers_an_html_404_to_a_browser_and_json_under_the_api(web_server: Server) -> None:
    with WebClient(web_server) as web:
        page = web.get("/no/such/page")
        assert "There is no page here." in assert_page(page, 404)
        api = web.get("/client/v4/no/such/route")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    assert api.json()["errors"][0]["message"] == "No route for that URI"
    assert "content-security-policy" not in api.headers  # the API's own answers are left as they were
    plain = httpx.get(f"{web_server.base}/no/such/page", headers={"Accept": "application/json"})
    assert plain.status_code == 404 and plain.json()["success"] is False


# --- the API never accepts the session cookie -----------------------------------------------------------------


def test_an_api_call_with_only_the_session_cookie_is_unauthenticated(web_server: Server, tenants: Tenants) -> None:
    with WebClient(web_server) as web:
        web.sign_in(tenants.alice)
        cookie = web.session
    assert cookie is not None
    for path in ("/accounts", f"/accounts/{tenants.a}/addressing/prefixes", f"/accounts/{tenants.a}/audit_logs"):
        r = httpx.get(f"{web_server.api}{path}", headers={"Cookie": f"{COOKIE}={cookie}"})
        assert r.status_code == 401, r.text
        body = r.json()
        assert set(body) == {"success", "errors", "messages", "result"}
        assert body["success"] is False and body["result"] is None
        assert body["errors"][0]["code"] == 10000
    # A write carrying only the cookie is refused the same way, and changes nothing.
    r = httpx.post(
        f"{web_server.api}/accounts/{tenants.a}/addressing/prefixes",
        headers={"Cookie": f"{COOKIE}={cookie}"},
        json={"cidr": "5.250.0.0/24", "asn": 13335},
    )
    assert r.status_code == 401
    listed = httpx.get(f"{web_server.api}/accounts/{tenants.a}/addressing/prefixes", headers=tenants.alice.headers)
    assert listed.json()["result"] == []


# --- tenants --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["", "/ip-addresses", "/ip-addresses/prefixes", "/ip-addresses/delegated", "/audit-log", "/zones"]
)
def test_a_user_of_b_is_refused_on_as_pages(bob_web: WebClient, tenants: Tenants, path: str) -> None:
    r = bob_web.get(f"/accounts/{tenants.a}{path}")
    assert r.status_code in (403, 404), (path, r.status_code)
    text = assert_page(r, r.status_code)
    assert "Tenant A" not in text  # not even the account's name
    own = bob_web.get(f"/accounts/{tenants.b}{path}")
    assert own.status_code in (200, 404), (path, own.status_code)  # later pages may not exist yet


def test_the_account_switcher_does_not_let_b_into_a(bob_web: WebClient, tenants: Tenants) -> None:
    r = bob_web.get("/switch", params={"account": tenants.a})
    assert r.status_code == 303 and r.headers["location"] == "/accounts"
    assert bob_web.get("/switch", params={"account": tenants.b}).headers["location"] == f"/accounts/{tenants.b}"
    choices = assert_page(bob_web.get("/accounts"), 200)
    assert "Tenant B" in choices and "Tenant A" not in choices


def test_a_refusal_and_a_missing_account_look_alike(bob_web: WebClient, tenants: Tenants) -> None:
    theirs, missing = bob_web.get(f"/accounts/{tenants.a}"), bob_web.get(f"/accounts/{'0' * 32}")
    assert theirs.status_code == missing.status_code == 403
    assert alert(theirs) == alert(missing)


# --- posts: CSRF and bad bodies -------------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(bob_web: WebClient) -> None:
    r = bob_web.post("/logout", data={"other": "field"})
    assert_page(r, 403)
    assert bob_web.get("/accounts").status_code == 200


BAD_BODIES = {
    "not utf-8": (b"csrf_token=\xff\xfe&email=a", "application/x-www-form-urlencoded"),
    "json": (b'{"email": "a@example.com", "password": "x"}', "application/json"),
    "multipart": (
        b'--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na\r\n--x--\r\n',
        "multipart/form-data; boundary=x",
    ),
    "text": (b"email=a", "text/plain"),
    "no content type": (b"email=a&password=b", None),
    "nul in a value": (b"csrf_token=x&email=a%00b&password=c", "application/x-www-form-urlencoded"),
    "nul in a name": (b"csrf_token=x&em%00ail=a", "application/x-www-form-urlencoded"),
    "201 fields": ("&".join(f"f{i}=v" for i in range(201)).encode(), "application/x-www-form-urlencoded"),
    "70 kB": (b"email=" + b"a" * 70_000, "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
@pytest.mark.parametrize("path", ["/login", "/logout"])
def test_a_bad_form_body_gets_a_4xx_page_never_a_500(bob_web: WebClient, path: str, name: str) -> None:
    body, content_type = BAD_BODIES[name]
    headers = {"Content-Type": content_type} if content_type else {}
    r = bob_web.post(path, content=body, headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:1500])
    assert_page(r, r.status_code)
    assert alert(r)
    assert bob_web.get("/accounts").status_code == 200  # the session survived; nothing was done


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_huge_body_is_refused_with_a_page(bob_web: WebClient, framing: str) -> None:
    body = b"email=" + b"a" * 1_000_000

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    r = bob_web.post(
        "/login",
        content=body if framing == "content-length" else chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_page(r, 413)
    assert alert(r) == f"request body exceeds {256 * 1024} bytes"
    assert_dashboard_headers(r)
    api = bob_web.post("/client/v4/accounts", content=body, headers={"Content-Type": "application/json"})
    assert api.status_code == 413 and api.json()["errors"][0]["code"] == 1002  # the API answers in its envelope


def test_a_form_at_the_limits_is_read(web_server: Server, tenants: Tenants) -> None:
    # 200 fields are allowed; the right ones among them sign in.
    with WebClient(web_server) as web:
        token = web.login_token()
        fields = {"csrf_token": token, "email": tenants.alice.email, "password": tenants.alice.password, "next": "/"}
        fields |= {f"pad{i}": "x" for i in range(200 - len(fields))}
        r = web.post("/login", data=fields)
    assert r.status_code == 303, r.text[:1500]

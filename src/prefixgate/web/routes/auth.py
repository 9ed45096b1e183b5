"""Signing in and out, the front door (/), and the account switcher."""

from __future__ import annotations

import secrets

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from ...domain.errors import RateLimited, Unauthenticated
from ...service import identity, sessions
from ...settings import Settings
from ..render import page
from ..routing import see_other, web_router
from ..viewer import COOKIE, CheckedForm, PostedForm, Viewer, WebDb, client_ip, policy_of, same_token

router = web_router()

_LOGIN_CSRF = "prefixgate_login_csrf"


def _safe_next(target: str) -> str:
    """Only a path on this site may follow a login (no open redirect to another host)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: Request, *, error: str = "", email: str = "", status: int = 200) -> Response:
    token = request.cookies.get(_LOGIN_CSRF) or secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        {"error": error, "email": email, "next": _safe_next(request.query_params.get("next", "/")), "token": token},
        status=status,
    )
    response.set_cookie(
        _LOGIN_CSRF, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/login"
    )
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request, db: WebDb, form: PostedForm) -> Response:
    expected = request.cookies.get(_LOGIN_CSRF, "")
    if not expected or not same_token(form["csrf_token"], expected):
        return _login_page(request, error="The sign-in form expired; please try again.", status=403)
    settings: Settings = request.app.state.settings
    email = form["email"]
    try:
        signed = await run_in_threadpool(
            sessions.login, db, email, form["password"], ip=client_ip(request), policy=policy_of(settings)
        )
    except RateLimited as exc:
        response = _login_page(request, error=exc.message[:1].upper() + exc.message[1:] + ".", email=email, status=429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except Unauthenticated:
        return _login_page(request, error="Wrong email or password.", email=email, status=401)
    response = see_other(_safe_next(form["next"] or "/"))
    response.set_cookie(
        COOKIE,
        signed.cookie,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=int(settings.session_idle_s),
        path="/",
    )
    response.delete_cookie(_LOGIN_CSRF, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, db: WebDb, _: CheckedForm) -> Response:
    await run_in_threadpool(sessions.logout, db, request.cookies.get(COOKIE, ""))
    response = see_other("/login?notice=signed-out")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
def front_door(db: WebDb, visitor: Viewer) -> Response:
    accounts = identity.accounts_of(db, visitor.actor)
    return see_other(f"/accounts/{accounts[0].id}" if accounts else "/accounts")


@router.get("/switch")
def switch_account(visitor: Viewer, account: str = "") -> Response:
    """The account switcher's target (a GET form: switching changes nothing)."""
    if not visitor.actor.is_member(account):
        return see_other("/accounts")
    return see_other(f"/accounts/{account}")

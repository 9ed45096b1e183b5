"""Who is looking at a page: the session cookie, the CSRF check, and the dependencies routes declare."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ..domain.codes import Code
from ..domain.errors import AccessDenied, DomainError, InvalidInput, Unauthenticated
from ..domain.sessions import LoginPolicy, WebSession
from ..service.context import Actor
from ..service.ports import Database
from ..service.sessions import SessionPolicy, session_actor
from ..settings import Settings
from .forms import Form, parse_form

__all__ = [
    "COOKIE",
    "CheckedForm",
    "LoginRequired",
    "PostedForm",
    "Submitted",
    "Viewer",
    "Visitor",
    "WebDb",
    "client_ip",
    "policy_of",
    "same_token",
]

COOKIE = "prefixgate_session"
_MAX_FORM_BYTES = 64 * 1024


class LoginRequired(DomainError):
    """No live session: pages answer with a redirect to the login page."""

    code = Code.AUTHENTICATION_ERROR


@dataclass(frozen=True, slots=True)
class Visitor:
    """A signed-in user on a page: the service layer's Actor and the session's CSRF token."""

    actor: Actor
    session: WebSession

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    @property
    def email(self) -> str:
        return self.actor.user.email if self.actor.user else ""


@dataclass(frozen=True, slots=True)
class Submitted:
    """A form posted by a signed-in user, its CSRF token checked."""

    visitor: Visitor
    form: Form

    @property
    def actor(self) -> Actor:
        return self.visitor.actor


def policy_of(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(seconds=settings.session_idle_s),
        login=LoginPolicy(
            max_failures=settings.login_max_failures,
            window=timedelta(seconds=settings.login_window_s),
            cooldown=timedelta(seconds=settings.login_cooldown_s),
        ),
    )


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def same_token(presented: str, expected: str) -> bool:
    return bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())


async def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


WebDb = Annotated[Database, Depends(_db)]


async def _visitor(request: Request, db: WebDb) -> Visitor:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise LoginRequired("sign in to continue")
    settings: Settings = request.app.state.settings
    try:
        session, actor = await run_in_threadpool(
            session_actor, db, cookie, ip=client_ip(request), policy=policy_of(settings)
        )
    except Unauthenticated as exc:
        raise LoginRequired(exc.message) from None
    return Visitor(actor=actor, session=session)


Viewer = Annotated[Visitor, Depends(_visitor)]


async def _posted(request: Request) -> Form:
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise InvalidInput(f"a form may hold at most {_MAX_FORM_BYTES} bytes", code=Code.REQUEST_TOO_LARGE)
    return parse_form(body, request.headers.get("content-type"))


PostedForm = Annotated[Form, Depends(_posted)]


async def _checked(visitor: Viewer, form: PostedForm) -> Submitted:
    if not same_token(form["csrf_token"], visitor.csrf_token):
        raise AccessDenied(
            "the form's security token is missing or out of date; reload the page and try again", code=Code.FORBIDDEN
        )
    return Submitted(visitor=visitor, form=form)


CheckedForm = Annotated[Submitted, Depends(_checked)]

"""Dashboard sign-in: passwords, sessions and the failed-login throttle.

A session authenticates dashboard pages only; the API never looks at it (api/deps.py reads only
tokens and keys). Failed logins are counted per email address and per client address in the
database, so every worker of a fleet shares one count.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from ..domain.codes import Code
from ..domain.errors import InvalidInput, RateLimited, Unauthenticated
from ..domain.sessions import MAX_PASSWORD, LoginPolicy, WebSession, after_failure, check_password, locked_for
from .auth import grants_of
from .context import Actor, record, utcnow
from .credentials import digest, hash_password, verify_password
from .ports import Database

__all__ = ["SessionPolicy", "SignedIn", "login", "logout", "session_actor", "set_password"]

_TOUCH_EVERY = timedelta(minutes=1)
# Verified when the email is unknown, so an unknown address costs as long as a wrong password.
_DECOY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long an idle session lasts, and when failed logins start being refused."""

    idle: timedelta = timedelta(hours=12)
    login: LoginPolicy = field(default_factory=LoginPolicy)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session: `cookie` is the value the browser keeps (shown only now), `actor` who it is."""

    cookie: str
    session: WebSession
    actor: Actor


def set_password(db: Database, actor: Actor, email: str, password: str) -> None:
    """Give a user a dashboard password (operators only) and end their sessions.

    Raises:
        InvalidInput: unknown user, or a password that is not 8 to 1024 characters long.
    """
    actor.require_operator()
    check_password(password)
    hashed = hash_password(password)
    with db.write() as uow:
        user = uow.users.by_email(email.strip().lower())
        if user is None:
            raise InvalidInput(f"no user has email {email}", code=Code.UNKNOWN_USER)
        uow.users.set_password_hash(user.id, hashed)
        uow.sessions.delete_for_user(user.id)
        record(uow, actor, "user.password_set", user.id, owners=[("user", user.id)])
        uow.commit()


def _keys(email: str, ip: str | None) -> list[str]:
    # A key fits its column (320): an address forwarded by a trusted proxy may be any text.
    return [f"email:{email}"[:320], *([f"ip:{ip}"[:320]] if ip else [])]


def _refuse_if_locked(db: Database, keys: list[str]) -> None:
    now = utcnow()
    with db.read() as uow:
        waits = [w for key in keys if (w := locked_for(uow.login_failures.get(key), now)) is not None]
    if waits:
        seconds = max(1, math.ceil(max(waits).total_seconds()))
        raise RateLimited(
            f"too many failed logins; try again in {seconds} seconds", retry_after_s=seconds, code=Code.RATE_LIMITED
        )


def login(db: Database, email: str, password: str, *, ip: str | None, policy: SessionPolicy) -> SignedIn:
    """Check a password and open a session.

    Raises:
        RateLimited: too many recent failures for this email or this client address.
        Unauthenticated: unknown email or wrong password (one message for both).
    """
    email = email.strip().lower()[:254]
    keys = _keys(email, ip)
    _refuse_if_locked(db, keys)
    with db.read() as uow:
        user = uow.users.by_email(email) if email else None
        stored = uow.users.password_hash(user.id) if user else None
    ok = verify_password(password[:MAX_PASSWORD], stored or _DECOY_HASH) and stored is not None
    now = utcnow()
    with db.write() as uow:
        if not ok or user is None:
            for key in keys:
                uow.login_failures.put(after_failure(uow.login_failures.lock(key, now), key, now, policy.login))
            uow.commit()
            raise Unauthenticated("wrong email or password", code=Code.AUTHENTICATION_ERROR)
        uow.login_failures.clear(keys[0])
        uow.sessions.delete_expired(now)
        cookie = secrets.token_urlsafe(32)
        session = WebSession(
            id=digest(cookie),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + policy.idle,
            last_seen_at=now,
        )
        uow.sessions.add(session)
        actor = Actor(user=user, grants=grants_of(uow, user), interface="UI", ip=ip)
        record(uow, actor, "user.login", user.id, owners=[("user", user.id)])
        uow.commit()
    return SignedIn(cookie=cookie, session=session, actor=actor)


def session_actor(db: Database, cookie: str, *, ip: str | None, policy: SessionPolicy) -> tuple[WebSession, Actor]:
    """Who a session cookie belongs to, with the permissions their memberships give now.

    Raises:
        Unauthenticated: no such session, or it has expired.
    """
    expired = Unauthenticated("your session has ended; sign in again", code=Code.AUTHENTICATION_ERROR)
    if not cookie or len(cookie) > 200:
        raise expired
    now = utcnow()
    with db.read() as uow:
        session = uow.sessions.get(digest(cookie))
        user = uow.users.get(session.user_id) if session is not None else None
        if session is None or user is None or not session.live(now):
            raise expired
        actor = Actor(user=user, grants=grants_of(uow, user), interface="UI", ip=ip)
    if now - session.last_seen_at >= _TOUCH_EVERY:
        with db.write_if_free() as w:
            if w is not None:
                w.sessions.touch(session.id, now, now + policy.idle)
                w.commit()
    return session, actor


def logout(db: Database, cookie: str) -> None:
    """End the session (nothing happens for an unknown cookie)."""
    with db.write() as uow:
        uow.sessions.delete(digest(cookie))
        uow.commit()

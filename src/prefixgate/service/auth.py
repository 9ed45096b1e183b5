"""Authentication: turn a presented credential into an Actor."""

from __future__ import annotations

from datetime import timedelta

from ..domain.codes import Code
from ..domain.errors import Unauthenticated
from ..domain.model import User
from ..domain.roles import Permission, permissions_of
from .context import Actor, utcnow
from .credentials import digest, same_digest
from .ports import Database, UnitOfWork

__all__ = ["authenticate"]

# Recording last use on every request would turn every read into a write; a minute is precise enough.
_TOUCH_EVERY = timedelta(minutes=1)


def authenticate(
    db: Database,
    *,
    bearer: str | None,
    email: str | None,
    api_key: str | None,
    ip: str | None = None,
) -> Actor:
    """Resolve `Authorization: Bearer` or `X-Auth-Email` + `X-Auth-Key` into an Actor.

    Raises:
        Unauthenticated: no credential (code 10000) or a bad one (9109 for tokens, 10000 for keys).
    """
    if bearer is not None:
        return _by_token(db, bearer, ip)
    if email is not None and api_key is not None:
        return _by_key(db, email, api_key, ip)
    raise Unauthenticated(
        "Authentication error: send Authorization: Bearer <token>, or X-Auth-Email and X-Auth-Key",
        code=Code.AUTHENTICATION_ERROR,
    )


def _grants(uow: UnitOfWork, user: User) -> dict[str, frozenset[Permission]]:
    return {m.account_id: permissions_of(m.role_ids) for m in uow.members.for_user(user.id)}


def _by_token(db: Database, value: str, ip: str | None) -> Actor:
    invalid = Unauthenticated("Invalid API Token", code=Code.INVALID_ACCESS_TOKEN)
    if not value or len(value) > 200:
        raise invalid
    now = utcnow()
    with db.read() as uow:
        token = uow.tokens.by_hash(digest(value))
        if token is None or token.status != "active":
            raise invalid
        if (token.expires_on and token.expires_on <= now) or (token.not_before and token.not_before > now):
            raise invalid
        user = uow.users.get(token.user_id)
        if user is None:
            raise invalid
        grants = _grants(uow, user)
    if token.last_used_on is None or now - token.last_used_on >= _TOUCH_EVERY:
        # Bookkeeping: skipped (and tried again next request) rather than waited for when another
        # writer holds the lock, so a read never queues behind writes nor fails for their sake.
        with db.write_if_free() as w:
            if w is not None:
                w.tokens.touch(token.id, now)
                w.commit()
    return Actor(user=user, grants=grants, ip=ip, token_id=token.id)


def _by_key(db: Database, email: str, api_key: str, ip: str | None) -> Actor:
    invalid = Unauthenticated("Unknown X-Auth-Key or X-Auth-Email", code=Code.AUTHENTICATION_ERROR)
    if len(email) > 254 or len(api_key) > 200:
        raise invalid
    with db.read() as uow:
        user = uow.users.by_email(email.strip().lower())
        if user is None or not same_digest(api_key, uow.users.api_key_hash(user.id)):
            raise invalid
        grants = _grants(uow, user)
    return Actor(user=user, grants=grants, ip=ip)

"""API tokens: random, shown once, stored as a hash, revocable."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..domain.codes import Code
from ..domain.errors import InvalidInput, NotFound, Unauthenticated
from ..domain.model import ApiToken, Page, PageRequest, User
from .context import Actor, new_id, record, utcnow
from .credentials import digest, new_token_value
from .ports import Database
from .records import token_record

__all__ = ["create_token", "delete_token", "get_token", "list_tokens", "verify_token"]

_MAX_NAME = 120


def _user(actor: Actor) -> User:
    if actor.user is None:
        raise Unauthenticated("a user is required", code=Code.AUTHENTICATION_ERROR)
    return actor.user


def create_token(
    db: Database,
    actor: Actor,
    name: str,
    *,
    user: User | None = None,
    policies: Sequence[object] = (),
    not_before: datetime | None = None,
    expires_on: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for the caller (or, from the CLI, for `user`). Returns it with its value.

    The value is returned only here; only its SHA-256 digest is stored.
    """
    owner = user or _user(actor)
    if policies:
        raise InvalidInput(
            "scoped token policies are not supported yet: a token acts with its user's memberships; "
            'send "policies": []',
            code=Code.TOKEN_POLICIES_UNSUPPORTED,
        )
    name = name.strip()
    if not name or len(name) > _MAX_NAME:
        raise InvalidInput(f"name must be 1 to {_MAX_NAME} characters", code=Code.INVALID_FIELD)
    if not_before and expires_on and expires_on <= not_before:
        raise InvalidInput("expires_on must be after not_before", code=Code.INVALID_FIELD)
    value = new_token_value()
    now = utcnow()
    token = ApiToken(
        id=new_id(),
        user_id=owner.id,
        name=name,
        status="active",
        issued_on=now,
        modified_on=now,
        not_before=not_before,
        expires_on=expires_on,
    )
    with db.write() as uow:
        uow.tokens.add(token, token_hash=digest(value))
        record(
            uow,
            actor,
            "token.created",
            token.id,
            owners=[("user", owner.id)],
            new=token_record(token),
        )
        uow.commit()
    return token, value


def list_tokens(db: Database, actor: Actor, page: PageRequest) -> Page[ApiToken]:
    with db.read() as uow:
        return uow.tokens.page(_user(actor).id, page)


def get_token(db: Database, actor: Actor, token_id: str) -> ApiToken:
    with db.read() as uow:
        token = uow.tokens.get(_user(actor).id, token_id)
    if token is None:
        raise NotFound("token not found", code=Code.NOT_FOUND)
    return token


def delete_token(db: Database, actor: Actor, token_id: str) -> ApiToken:
    """Revoke one of the caller's tokens. It stops working at once."""
    user = _user(actor)
    with db.write() as uow:
        token = uow.tokens.get(user.id, token_id)
        if token is None:
            raise NotFound("token not found", code=Code.NOT_FOUND)
        uow.tokens.delete(token.id)
        record(
            uow,
            actor,
            "token.deleted",
            token.id,
            owners=[("user", user.id)],
            old=token_record(token),
        )
        uow.commit()
    return token


def verify_token(db: Database, actor: Actor) -> ApiToken:
    """The token the caller authenticated with."""
    if actor.token_id is None:
        raise Unauthenticated("verify needs Authorization: Bearer <token>", code=Code.AUTHENTICATION_ERROR)
    return get_token(db, actor, actor.token_id)

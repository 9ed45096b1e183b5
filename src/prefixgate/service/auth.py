"""Authentication: turn a presented credential into an Actor, remembering the answer very briefly."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.codes import Code
from ..domain.errors import Unauthenticated
from ..domain.model import ApiToken, User
from ..domain.roles import Permission, permissions_of
from .context import Actor, utcnow
from .credentials import digest, same_digest
from .ports import Database, UnitOfWork

__all__ = ["Authenticator", "Credential", "grants_of"]

# Recording last use on every request would turn every read into a write; a minute is precise enough.
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Credential:
    """What a request presented: a bearer token, or an email with a global API key."""

    bearer: str | None = None
    email: str | None = None
    api_key: str | None = None


@dataclass(frozen=True, slots=True)
class _Identity:
    """Who a credential is, as cached: everything an Actor needs except the caller's address. An edge
    token's identity has no user, only `edge_token_id`."""

    user: User | None
    grants: dict[str, frozenset[Permission]]
    token_id: str | None
    not_before: datetime | None
    expires_on: datetime | None
    edge_token_id: str | None = None

    def actor(self, ip: str | None) -> Actor:
        if self.edge_token_id is not None:
            return Actor(user=None, interface="edge", ip=ip, edge_token_id=self.edge_token_id)
        return Actor(user=self.user, grants=self.grants, ip=ip, token_id=self.token_id)

    def in_force(self, now: datetime) -> bool:
        return not ((self.expires_on and self.expires_on <= now) or (self.not_before and self.not_before > now))


class Authenticator:
    """`authenticate` behind a cache of who each credential is, kept `ttl_s` seconds.

    A hit costs no query. A token deleted or a membership removed or changed in this process empties the
    cache when that change commits (forget_all); in any other process the old answer lives at most
    `ttl_s` seconds. A token's own expiry is checked on every hit. `ttl_s=0` turns the cache off.

    Edge tokens are accepted only where the caller says `edge=True` (the edge feed's endpoints);
    anywhere else one is refused exactly as an unknown token is.
    """

    def __init__(self, ttl_s: float, *, max_entries: int = 10_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._entries: dict[str, tuple[float, _Identity]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def cached(self, credential: Credential, ip: str | None, *, edge: bool = False) -> Actor | None:
        """The Actor for `credential` if it is cached and still in force; None means: ask the database
        (which refuses an edge token unless `edge`)."""
        if self._ttl <= 0:
            return None
        key = _key(credential)
        entry = self._entries.get(key) if key is not None else None
        if entry is None:
            return None
        until, identity = entry
        if identity.edge_token_id is not None and not edge:
            return None
        if time.monotonic() >= until or not identity.in_force(utcnow()):
            self._entries.pop(key, None)  # type: ignore[arg-type]
            return None
        return identity.actor(ip)

    def authenticate(self, db: Database, credential: Credential, ip: str | None, *, edge: bool = False) -> Actor:
        """Look the credential up in `db` and cache who it is. An edge token counts only with `edge`.

        Raises:
            Unauthenticated: no credential (code 10000) or a bad one (9109 for tokens, 10000 for keys).
        """
        generation = self._generation
        actor, identity = _resolve(db, credential, ip, edge=edge)
        key = _key(credential)
        if self._ttl > 0 and key is not None:
            with self._lock:
                # A change committed while we read may not be in what we read: cache nothing then.
                if generation == self._generation:
                    if len(self._entries) >= self._max:
                        self._entries.clear()
                    self._entries[key] = (time.monotonic() + self._ttl, identity)
        return actor

    def forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


def _key(credential: Credential) -> str | None:
    if credential.bearer is not None:
        return "t:" + digest(credential.bearer)
    if credential.email is not None and credential.api_key is not None:
        return "k:" + digest(f"{credential.email.strip().lower()}\n{credential.api_key}")
    return None


def _resolve(db: Database, credential: Credential, ip: str | None, *, edge: bool) -> tuple[Actor, _Identity]:
    if credential.bearer is not None:
        return _by_token(db, credential.bearer, ip, edge=edge)
    if credential.email is not None and credential.api_key is not None:
        return _by_key(db, credential.email, credential.api_key, ip)
    raise Unauthenticated(
        "Authentication error: send Authorization: Bearer <token>, or X-Auth-Email and X-Auth-Key",
        code=Code.AUTHENTICATION_ERROR,
    )


def grants_of(uow: UnitOfWork, user: User) -> dict[str, frozenset[Permission]]:
    return {m.account_id: permissions_of(m.role_ids) for m in uow.members.for_user(user.id)}


def _by_token(db: Database, value: str, ip: str | None, *, edge: bool) -> tuple[Actor, _Identity]:
    invalid = Unauthenticated("Invalid API Token", code=Code.INVALID_ACCESS_TOKEN)
    if not value or len(value) > 200:
        raise invalid
    now = utcnow()
    token: ApiToken | None
    with db.read() as uow:
        token = uow.tokens.by_hash(digest(value))
        if token is None and edge:
            edge_token = uow.edge_feed.token_by_hash(digest(value))
            if edge_token is not None:
                identity = _Identity(None, {}, None, None, None, edge_token_id=edge_token.id)
                return identity.actor(ip), identity
        if token is None or token.status != "active":
            raise invalid
        user = uow.users.get(token.user_id)
        if user is None:
            raise invalid
        identity = _Identity(user, grants_of(uow, user), token.id, token.not_before, token.expires_on)
    if not identity.in_force(now):
        raise invalid
    if token.last_used_on is None or now - token.last_used_on >= _TOUCH_EVERY:
        # Bookkeeping: skipped (and tried again later) rather than waited for when another writer
        # holds the lock, so a read never queues behind writes nor fails for their sake.
        with db.write_if_free() as w:
            if w is not None:
                w.tokens.touch(token.id, now)
                w.commit()
    return identity.actor(ip), identity


def _by_key(db: Database, email: str, api_key: str, ip: str | None) -> tuple[Actor, _Identity]:
    invalid = Unauthenticated("Unknown X-Auth-Key or X-Auth-Email", code=Code.AUTHENTICATION_ERROR)
    if len(email) > 254 or len(api_key) > 200:
        raise invalid
    with db.read() as uow:
        user = uow.users.by_email(email.strip().lower())
        if user is None or not same_digest(api_key, uow.users.api_key_hash(user.id)):
            raise invalid
        identity = _Identity(user, grants_of(uow, user), None, None, None)
    return identity.actor(ip), identity

"""Users, accounts, memberships and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from ....domain.model import Account, ApiToken, Membership, Page, PageRequest, User
from ..tables import accounts, api_tokens, memberships, users
from ._paging import paged

# The statements every authentication and most writes run, built once (see _paging.PagedQuery).
_USER = select(users).where(users.c.id == bindparam("user_id"))
_ACCOUNT = select(accounts).where(accounts.c.id == bindparam("account_id"))
_TOKEN_BY_HASH = select(api_tokens).where(api_tokens.c.token_hash == bindparam("token_hash"))


def _user(r: Any) -> User:
    return User(id=r.id, email=r.email, is_operator=bool(r.is_operator), created_at=r.created_at)


def _account(r: Any) -> Account:
    return Account(id=r.id, name=r.name, type=r.type, created_at=r.created_at)


def _member(r: Any) -> Membership:
    return Membership(
        id=r.id,
        account_id=r.account_id,
        user_id=r.user_id,
        user_email=r.email,
        role_ids=tuple(r.role_ids.split()),
        created_at=r.created_at,
        status=r.status,
    )


def _token(r: Any) -> ApiToken:
    return ApiToken(
        id=r.id,
        user_id=r.user_id,
        name=r.name,
        status=r.status,
        issued_on=r.issued_on,
        modified_on=r.modified_on,
        last_used_on=r.last_used_on,
        not_before=r.not_before,
        expires_on=r.expires_on,
    )


class SqlUserRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, user: User, *, password_hash: str | None, api_key_hash: str) -> None:
        self._c.execute(
            insert(users).values(
                id=user.id,
                email=user.email,
                is_operator=user.is_operator,
                created_at=user.created_at,
                password_hash=password_hash,
                api_key_hash=api_key_hash,
            )
        )

    def get(self, user_id: str) -> User | None:
        r = self._c.execute(_USER, {"user_id": user_id}).first()
        return _user(r) if r else None

    def by_email(self, email: str) -> User | None:
        r = self._c.execute(select(users).where(users.c.email == email)).first()
        return _user(r) if r else None

    def api_key_hash(self, user_id: str) -> str | None:
        value = self._c.execute(select(users.c.api_key_hash).where(users.c.id == user_id)).scalar()
        return str(value) if value is not None else None

    def password_hash(self, user_id: str) -> str | None:
        value = self._c.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar()
        return str(value) if value is not None else None

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self._c.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


class SqlAccountRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, account: Account) -> None:
        self._c.execute(
            insert(accounts).values(id=account.id, name=account.name, type=account.type, created_at=account.created_at)
        )

    def get(self, account_id: str) -> Account | None:
        r = self._c.execute(_ACCOUNT, {"account_id": account_id}).first()
        return _account(r) if r else None

    def all_for_user(self, user_id: str) -> list[Account]:
        """Every account the user belongs to, oldest first, in one query."""
        q = (
            select(accounts)
            .join(memberships, memberships.c.account_id == accounts.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(accounts.c.created_at, accounts.c.id)
        )
        return [_account(r) for r in self._c.execute(q)]

    def list_for_user(self, user_id: str, page: PageRequest) -> Page[Account]:
        q = (
            select(accounts)
            .join(memberships, memberships.c.account_id == accounts.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(accounts.c.created_at, accounts.c.id)
        )
        return paged(self._c, q, page, _account)


_MEMBER_COLUMNS = (*memberships.c, users.c.email)
_MEMBERSHIPS_OF_USER = (
    select(*_MEMBER_COLUMNS)
    .join(users, users.c.id == memberships.c.user_id)
    .where(memberships.c.user_id == bindparam("user_id"))
)


class SqlMembershipRepo:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self._c = conn
        self._postgres = postgres
        self.changed = False  # a membership was added, removed or given other roles in this unit

    def _select(self) -> Any:
        return select(*_MEMBER_COLUMNS).join(users, users.c.id == memberships.c.user_id)

    def add(self, member: Membership) -> None:
        self._c.execute(
            insert(memberships).values(
                id=member.id,
                account_id=member.account_id,
                user_id=member.user_id,
                role_ids=" ".join(member.role_ids),
                status=member.status,
                created_at=member.created_at,
            )
        )
        self.changed = True

    def get(self, account_id: str, member_id: str) -> Membership | None:
        q = self._select().where(memberships.c.account_id == account_id, memberships.c.id == member_id)
        r = self._c.execute(q).first()
        return _member(r) if r else None

    def of_user_in(self, account_id: str, user_id: str) -> Membership | None:
        q = self._select().where(memberships.c.account_id == account_id, memberships.c.user_id == user_id)
        r = self._c.execute(q).first()
        return _member(r) if r else None

    def for_user(self, user_id: str) -> list[Membership]:
        return [_member(r) for r in self._c.execute(_MEMBERSHIPS_OF_USER, {"user_id": user_id})]

    def page(self, account_id: str, page: PageRequest) -> Page[Membership]:
        q = (
            self._select()
            .where(memberships.c.account_id == account_id)
            .order_by(memberships.c.created_at, memberships.c.id)
        )
        return paged(self._c, q, page, _member)

    def all_in(self, account_id: str) -> list[Membership]:
        return [_member(r) for r in self._c.execute(self._select().where(memberships.c.account_id == account_id))]

    def lock_account(self, account_id: str) -> None:
        if self._postgres:  # SQLite's write transactions already hold the database lock
            self._c.execute(select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())

    def set_roles(self, member_id: str, role_ids: tuple[str, ...]) -> None:
        self._c.execute(update(memberships).where(memberships.c.id == member_id).values(role_ids=" ".join(role_ids)))
        self.changed = True

    def delete(self, member_id: str) -> None:
        self._c.execute(delete(memberships).where(memberships.c.id == member_id))
        self.changed = True


class SqlTokenRepo:
    def __init__(self, conn: Connection) -> None:
        self._c = conn
        self.changed = False  # a token was removed in this unit

    def add(self, token: ApiToken, *, token_hash: str) -> None:
        self._c.execute(
            insert(api_tokens).values(
                id=token.id,
                user_id=token.user_id,
                name=token.name,
                token_hash=token_hash,
                status=token.status,
                issued_on=token.issued_on,
                modified_on=token.modified_on,
                last_used_on=token.last_used_on,
                not_before=token.not_before,
                expires_on=token.expires_on,
            )
        )

    def by_hash(self, token_hash: str) -> ApiToken | None:
        r = self._c.execute(_TOKEN_BY_HASH, {"token_hash": token_hash}).first()
        return _token(r) if r else None

    def get(self, user_id: str, token_id: str) -> ApiToken | None:
        q = select(api_tokens).where(api_tokens.c.user_id == user_id, api_tokens.c.id == token_id)
        r = self._c.execute(q).first()
        return _token(r) if r else None

    def page(self, user_id: str, page: PageRequest) -> Page[ApiToken]:
        q = select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.issued_on, api_tokens.c.id)
        return paged(self._c, q, page, _token)

    def touch(self, token_id: str, when: datetime) -> None:
        self._c.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_on=when))

    def delete(self, token_id: str) -> None:
        self._c.execute(delete(api_tokens).where(api_tokens.c.id == token_id))
        self.changed = True

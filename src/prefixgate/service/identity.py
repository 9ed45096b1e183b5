"""Users, accounts and memberships."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..domain.codes import Code
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.model import Account, Membership, Page, PageRequest, User
from ..domain.roles import ADMINISTRATOR, Permission, permissions_of, role_by_id, role_by_name
from ..domain.sessions import check_password
from .context import Actor, new_id, record, utcnow
from .credentials import digest, hash_password, new_api_key
from .ports import Database, UnitOfWork
from .records import member_record

__all__ = [
    "accounts_of",
    "add_member",
    "create_account",
    "create_user",
    "delete_member",
    "get_account",
    "get_member",
    "list_accounts",
    "list_members",
    "resolve_role_ids",
    "unknown_user",
    "update_member",
]

_MAX_NAME = 255


def _normal_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise InvalidInput(f"{email!r} is not a valid email address", code=Code.INVALID_FIELD)
    return email


def create_user(db: Database, actor: Actor, email: str, *, password: str | None, operator: bool) -> tuple[User, str]:
    """Create a user. Returns the user and its global API key, which is shown only now.

    Raises:
        Conflict: a user with that email exists.
        InvalidInput: a password that is not 8 to 1024 characters long.
    """
    actor.require_operator()
    email = _normal_email(email)
    if password:
        check_password(password)  # the same rule as set_password: it is the dashboard's password
    api_key = new_api_key()
    with db.write() as uow:
        if uow.users.by_email(email) is not None:
            raise Conflict(f"a user with email {email} already exists", code=Code.CONFLICT)
        user = User(id=new_id(), email=email, is_operator=operator, created_at=utcnow())
        uow.users.add(user, password_hash=hash_password(password) if password else None, api_key_hash=digest(api_key))
        uow.commit()
    return user, api_key


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > _MAX_NAME:
        raise InvalidInput(f"account name must be 1 to {_MAX_NAME} characters", code=Code.INVALID_FIELD)
    return name


def create_account(db: Database, actor: Actor, name: str, *, owner_email: str | None = None) -> Account:
    """Create an account (operators only). The owner (default: the caller) joins as Administrator."""
    actor.require_operator()
    name = _check_name(name)
    with db.write() as uow:
        owner = _owner(uow, actor, owner_email)
        account = Account(id=new_id(), name=name, created_at=utcnow())
        uow.accounts.add(account)
        if owner is not None:
            member = Membership(
                id=new_id(),
                account_id=account.id,
                user_id=owner.id,
                user_email=owner.email,
                role_ids=(ADMINISTRATOR.id,),
                created_at=account.created_at,
            )
            uow.members.add(member)
            record(
                uow,
                actor,
                "member.created",
                member.id,
                owners=[("account", account.id)],
                new=member_record(member),
            )
        uow.commit()
    return account


def _owner(uow: UnitOfWork, actor: Actor, owner_email: str | None) -> User | None:
    if owner_email is None:
        return actor.user
    owner = uow.users.by_email(_normal_email(owner_email))
    if owner is None:
        raise unknown_user(owner_email)
    return owner


def unknown_user(email: str) -> InvalidInput:
    return InvalidInput(
        f"no user has email {email}; an operator creates users with `prefixgate admin create-user`",
        code=Code.UNKNOWN_USER,
    )


def list_accounts(db: Database, actor: Actor, page: PageRequest) -> Page[Account]:
    """The accounts the caller belongs to."""
    if actor.user is None:
        return Page([], 0, page)
    with db.read() as uow:
        return uow.accounts.list_for_user(actor.user.id, page)


def accounts_of(db: Database, actor: Actor) -> list[Account]:
    """Every account the caller belongs to, oldest first (the dashboard's account switcher)."""
    if actor.user is None:
        return []
    with db.read() as uow:
        return uow.accounts.all_for_user(actor.user.id)


def get_account(db: Database, actor: Actor, account_id: str) -> Account:
    actor.require(account_id, Permission.ACCOUNT_READ)
    with db.read() as uow:
        account = uow.accounts.get(account_id)
    if account is None:
        raise NotFound("account not found", code=Code.NOT_FOUND)
    return account


def resolve_role_ids(roles: Sequence[str]) -> tuple[str, ...]:
    """Map role ids or exact role names onto role ids, refusing unknown ones."""
    if not roles:
        raise InvalidInput("roles must name at least one role", code=Code.UNKNOWN_ROLE)
    ids: list[str] = []
    for r in roles:
        role = role_by_id(r) or role_by_name(r)
        if role is None:
            raise InvalidInput(
                f"unknown role {r!r}; GET /accounts/{{account_id}}/roles lists the valid ones", code=Code.UNKNOWN_ROLE
            )
        if role.id not in ids:
            ids.append(role.id)
    return tuple(ids)


def list_members(db: Database, actor: Actor, account_id: str, page: PageRequest) -> Page[Membership]:
    actor.require(account_id, Permission.MEMBERS_READ)
    with db.read() as uow:
        return uow.members.page(account_id, page)


def get_member(db: Database, actor: Actor, account_id: str, member_id: str) -> Membership:
    actor.require(account_id, Permission.MEMBERS_READ)
    with db.read() as uow:
        member = uow.members.get(account_id, member_id)
    if member is None:
        raise NotFound("member not found", code=Code.NOT_FOUND)
    return member


def add_member(
    db: Database, actor: Actor, account_id: str, email: str, roles: Sequence[str], *, status: str = "accepted"
) -> Membership:
    """Add an existing user to an account.

    Raises:
        InvalidInput: unknown user or role. Conflict: already a member.
    """
    actor.require(account_id, Permission.MEMBERS_WRITE)
    role_ids = resolve_role_ids(roles)
    email = _normal_email(email)
    with db.write() as uow:
        if uow.accounts.get(account_id) is None:
            raise NotFound("account not found", code=Code.NOT_FOUND)
        uow.members.lock_account(account_id)
        user = uow.users.by_email(email)
        if user is None:
            raise unknown_user(email)
        if uow.members.of_user_in(account_id, user.id) is not None:
            raise Conflict(f"{email} is already a member of this account", code=Code.MEMBER_EXISTS)
        member = Membership(
            id=new_id(),
            account_id=account_id,
            user_id=user.id,
            user_email=user.email,
            role_ids=role_ids,
            created_at=utcnow(),
            status=status,
        )
        uow.members.add(member)
        record(
            uow,
            actor,
            "member.created",
            member.id,
            owners=[("account", account_id)],
            new=member_record(member),
        )
        uow.commit()
    return member


def _is_admin(member: Membership) -> bool:
    return Permission.MEMBERS_WRITE in permissions_of(member.role_ids)


def _keep_an_administrator(uow: UnitOfWork, account_id: str, refusal: str) -> None:
    """Raises Conflict if the account has only one Administrator (the one about to go)."""
    if sum(1 for m in uow.members.all_in(account_id) if _is_admin(m)) <= 1:
        raise Conflict(refusal, code=Code.LAST_ADMINISTRATOR)


def update_member(db: Database, actor: Actor, account_id: str, member_id: str, roles: Sequence[str]) -> Membership:
    """Give a member other roles. The last Administrator cannot lose the role.

    Raises:
        NotFound: no such member in this account. InvalidInput: unknown role.
        Conflict: it would leave the account without an Administrator.
    """
    actor.require(account_id, Permission.MEMBERS_WRITE)
    role_ids = resolve_role_ids(roles)
    with db.write() as uow:
        uow.members.lock_account(account_id)
        member = uow.members.get(account_id, member_id)
        if member is None:
            raise NotFound("member not found", code=Code.NOT_FOUND)
        updated = replace(member, role_ids=role_ids)
        if _is_admin(member) and not _is_admin(updated):
            admins = [m for m in uow.members.all_in(account_id) if _is_admin(m)]
            if len(admins) <= 1:
                raise Conflict(
                    "cannot take the role from the account's last Administrator", code=Code.LAST_ADMINISTRATOR
                )
        if role_ids != member.role_ids:
            uow.members.set_roles(member.id, role_ids)
            record(
                uow,
                actor,
                "member.updated",
                member.id,
                owners=[("account", account_id)],
                old=member_record(member),
                new=member_record(updated),
            )
        uow.commit()
    return updated


def delete_member(db: Database, actor: Actor, account_id: str, member_id: str) -> Membership:
    """Remove a member. The last Administrator cannot be removed.

    Raises:
        NotFound: no such member in this account. Conflict: it is the last Administrator.
    """
    actor.require(account_id, Permission.MEMBERS_WRITE)
    with db.write() as uow:
        uow.members.lock_account(account_id)
        member = uow.members.get(account_id, member_id)
        if member is None:
            raise NotFound("member not found", code=Code.NOT_FOUND)
        if _is_admin(member):
            _keep_an_administrator(uow, account_id, "cannot remove the account's last Administrator")
        uow.members.delete(member.id)
        record(
            uow,
            actor,
            "member.deleted",
            member.id,
            owners=[("account", account_id)],
            old=member_record(member),
        )
        uow.commit()
    return member

"""/accounts, members and roles."""

from __future__ import annotations

from ...domain.codes import Code
from ...domain.errors import NotFound
from ...domain.model import Page
from ...domain.roles import ROLES, Permission, role_by_id
from ...service import identity
from ...service.records import account_record, member_record, role_record
from ..deps import AccountPaging, CurrentActor, Db
from ..envelope import ok, ok_page
from ..routing import api_router
from ..schemas.accounts import AccountOut, CreateAccount, CreateMember, MemberOut, RoleOut, UpdateMember
from ..schemas.common import Envelope, IdResult
from ._common import ERRORS

router = api_router(tags=["Accounts"], responses=ERRORS)


@router.get("/accounts", response_model=Envelope[list[AccountOut]])
def list_accounts(db: Db, actor: CurrentActor, page: AccountPaging) -> dict[str, object]:
    return ok_page(identity.list_accounts(db, actor, page), account_record)


@router.post("/accounts", response_model=Envelope[AccountOut])
def create_account(db: Db, actor: CurrentActor, body: CreateAccount) -> dict[str, object]:
    """Create an account (operators only); the caller joins it as Administrator."""
    return ok(account_record(identity.create_account(db, actor, body.name)))


@router.get("/accounts/{account_id}", response_model=Envelope[AccountOut])
def get_account(db: Db, actor: CurrentActor, account_id: str) -> dict[str, object]:
    return ok(account_record(identity.get_account(db, actor, account_id)))


@router.get("/accounts/{account_id}/roles", response_model=Envelope[list[RoleOut]])
def list_roles(actor: CurrentActor, account_id: str, page: AccountPaging) -> dict[str, object]:
    actor.require(account_id, Permission.ACCOUNT_READ)
    items = list(ROLES[page.offset : page.offset + page.per_page])
    return ok_page(Page(items, len(ROLES), page), role_record)


@router.get("/accounts/{account_id}/roles/{role_id}", response_model=Envelope[RoleOut])
def get_role(actor: CurrentActor, account_id: str, role_id: str) -> dict[str, object]:
    actor.require(account_id, Permission.ACCOUNT_READ)
    role = role_by_id(role_id)
    if role is None:
        raise NotFound("role not found", code=Code.NOT_FOUND)
    return ok(role_record(role))


@router.get("/accounts/{account_id}/members", response_model=Envelope[list[MemberOut]])
def list_members(db: Db, actor: CurrentActor, account_id: str, page: AccountPaging) -> dict[str, object]:
    return ok_page(identity.list_members(db, actor, account_id, page), member_record)


@router.post("/accounts/{account_id}/members", response_model=Envelope[MemberOut])
def add_member(db: Db, actor: CurrentActor, account_id: str, body: CreateMember) -> dict[str, object]:
    """Add an existing user by email, with role ids (or exact role names)."""
    member = identity.add_member(db, actor, account_id, body.email, body.roles, status=body.status)
    return ok(member_record(member))


@router.get("/accounts/{account_id}/members/{member_id}", response_model=Envelope[MemberOut])
def get_member(db: Db, actor: CurrentActor, account_id: str, member_id: str) -> dict[str, object]:
    return ok(member_record(identity.get_member(db, actor, account_id, member_id)))


@router.put("/accounts/{account_id}/members/{member_id}", response_model=Envelope[MemberOut])
def update_member(
    db: Db, actor: CurrentActor, account_id: str, member_id: str, body: UpdateMember
) -> dict[str, object]:
    """Replace a member's roles (role objects with an `id`, as Cloudflare takes them)."""
    return ok(member_record(identity.update_member(db, actor, account_id, member_id, body.role_names())))


@router.delete("/accounts/{account_id}/members/{member_id}", response_model=Envelope[IdResult])
def delete_member(db: Db, actor: CurrentActor, account_id: str, member_id: str) -> dict[str, object]:
    return ok({"id": identity.delete_member(db, actor, account_id, member_id).id})

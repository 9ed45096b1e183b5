"""Accounts, members, roles, the user and its tokens, audit logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .common import Text

__all__ = [
    "AccountOut",
    "AuditLogOut",
    "CreateAccount",
    "CreateMember",
    "CreateToken",
    "MemberOut",
    "RoleOut",
    "TokenCreatedOut",
    "TokenOut",
    "TokenVerifyOut",
    "UpdateMember",
    "UserOut",
]


class CreateAccount(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Text = Field(min_length=1, max_length=255)
    type: Literal["standard", "enterprise"] = "standard"


class CreateMember(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: Text = Field(max_length=254)
    roles: list[Text] = Field(min_length=1, max_length=20)
    status: Literal["accepted", "pending"] = "accepted"


class RoleRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: Text = Field(max_length=64)


class UpdateMember(BaseModel):
    """Cloudflare's Update Member body: the member's new roles, as role objects (or role ids or names)."""

    model_config = ConfigDict(extra="ignore")
    roles: list[RoleRef | Text] = Field(min_length=1, max_length=20)

    def role_names(self) -> list[str]:
        return [r.id if isinstance(r, RoleRef) else r for r in self.roles]


class CreateToken(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: Text = Field(min_length=1, max_length=120)
    policies: list[Any] = Field(default_factory=list)
    not_before: datetime | None = None
    expires_on: datetime | None = None


class AccountSettings(BaseModel):
    enforce_twofactor: bool
    abuse_contact_email: str | None


class AccountOut(BaseModel):
    id: str
    name: str
    type: str
    created_on: str
    settings: AccountSettings


class Grant(BaseModel):
    read: bool
    write: bool


class RoleOut(BaseModel):
    id: str
    name: str
    description: str
    permissions: dict[str, Grant]


class MemberUser(BaseModel):
    id: str
    email: str
    first_name: str | None
    last_name: str | None
    two_factor_authentication_enabled: bool


class MemberOut(BaseModel):
    id: str
    email: str
    status: str
    roles: list[RoleOut]
    policies: list[Any]
    user: MemberUser


class UserOut(BaseModel):
    id: str
    email: str
    first_name: str | None
    last_name: str | None
    username: str
    two_factor_authentication_enabled: bool
    suspended: bool
    operator: bool
    created_on: str


class TokenOut(BaseModel):
    id: str
    name: str
    status: str
    issued_on: str
    modified_on: str
    last_used_on: str | None
    not_before: str | None
    expires_on: str | None
    policies: list[Any]


class TokenCreatedOut(TokenOut):
    value: str


class TokenVerifyOut(BaseModel):
    id: str
    status: str
    not_before: str | None
    expires_on: str | None


class AuditAction(BaseModel):
    type: str
    result: bool


class AuditActor(BaseModel):
    id: str | None
    email: str | None
    type: str
    ip: str | None


class AuditRef(BaseModel):
    id: str


class AuditResource(BaseModel):
    id: str
    type: str


class AuditLogOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    action: AuditAction
    actor: AuditActor
    interface: str
    metadata: dict[str, Any]
    new_value: str | None = Field(alias="newValue")
    old_value: str | None = Field(alias="oldValue")
    new_value_json: dict[str, Any] | None = Field(alias="newValueJson")
    old_value_json: dict[str, Any] | None = Field(alias="oldValueJson")
    owner: AuditRef
    resource: AuditResource
    when: str

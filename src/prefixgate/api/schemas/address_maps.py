"""Address maps, in the shapes of Cloudflare's IP Address Management Address Maps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from .common import Text

__all__ = ["AddressMapFullOut", "AddressMapOut", "CreateAddressMap", "EditAddressMap", "MapIpOut", "MembershipOut"]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class MembershipIn(_In):
    identifier: Text = Field(max_length=32)
    kind: Literal["zone", "account"]


class CreateAddressMap(_In):
    description: Text | None = Field(default=None, max_length=1000)
    enabled: StrictBool | None = None  # null or absent: disabled, Cloudflare's default
    ips: list[Text] = Field(default_factory=list, max_length=1000)  # the domain parser names a bad one
    memberships: list[MembershipIn] = Field(default_factory=list, max_length=1000)


class EditAddressMap(_In):
    """Only the fields sent change; null clears description and default_sni, and leaves enabled as it is."""

    default_sni: Text | None = Field(default=None, max_length=1000)  # the domain check names what is wrong
    description: Text | None = Field(default=None, max_length=1000)
    enabled: StrictBool | None = None


class AddressMapOut(BaseModel):
    id: str
    description: str | None
    default_sni: str | None
    enabled: bool
    can_delete: bool
    can_modify_ips: bool
    created_at: str
    modified_at: str


class MapIpOut(BaseModel):
    ip: str
    created_at: str


class MembershipOut(BaseModel):
    identifier: str
    kind: Literal["zone", "account"]
    can_delete: bool
    created_at: str


class AddressMapFullOut(AddressMapOut):
    ips: list[MapIpOut]
    memberships: list[MembershipOut]

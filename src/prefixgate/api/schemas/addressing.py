"""Prefixes, delegations and the access extensions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from .common import Text

__all__ = [
    "CreateDelegation",
    "CreatePrefix",
    "DelegationOut",
    "EditPrefix",
    "IpAccessOut",
    "PrefixOut",
    "ReceivedDelegationOut",
]


class CreatePrefix(BaseModel):
    model_config = ConfigDict(extra="ignore")
    cidr: StrictStr = Field(max_length=64)  # the domain parser names what is wrong with it
    asn: StrictInt | None
    loa_document_id: Text | None = Field(default=None, max_length=32)
    description: Text = Field(default="", max_length=1000)
    delegate_loa_creation: StrictBool = False


class EditPrefix(BaseModel):
    model_config = ConfigDict(extra="ignore")
    description: Text = Field(max_length=1000)


class CreateDelegation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    cidr: StrictStr = Field(max_length=64)  # the domain parser names what is wrong with it
    delegated_account_id: Text = Field(max_length=32)


class PrefixOut(BaseModel):
    id: str
    account_id: str
    cidr: str
    asn: int | None
    description: str
    approved: str
    loa_document_id: str | None
    delegate_loa_creation: bool
    on_demand_enabled: bool
    on_demand_locked: bool
    advertised: bool | None
    advertised_modified_at: str | None
    irr_validation_state: str
    rpki_validation_state: str
    ownership_validation_state: str
    ownership_validation_token: str | None
    created_at: str
    modified_at: str


class DelegationOut(BaseModel):
    id: str
    cidr: str
    delegated_account_id: str
    parent_prefix_id: str
    created_at: str
    modified_at: str


class ReceivedDelegationOut(DelegationOut):
    owner_account_id: str
    parent_prefix_cidr: str


class AccessPrefix(BaseModel):
    id: str
    cidr: str
    approved: str


class IpAccessOut(BaseModel):
    ip: str
    account_id: str
    access: Literal["owned", "delegated", "none"]
    allowed: bool
    message: str
    prefix: AccessPrefix | None
    delegations: list[ReceivedDelegationOut]

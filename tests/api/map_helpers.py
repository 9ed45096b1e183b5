"""Shared by the address-map API tests: URLs, builders and readers over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.domain.address_maps import AddressMap
from prefixgate.service.context import new_id
from tests.api.helpers import assert_ok


def maps_url(account_id: str) -> str:
    return f"/accounts/{account_id}/addressing/address_maps"


def map_url(account_id: str, map_id: str) -> str:
    return f"{maps_url(account_id)}/{map_id}"


def ip_url(account_id: str, map_id: str, ip: str) -> str:
    return f"{map_url(account_id, map_id)}/ips/{ip}"


def zone_member_url(account_id: str, map_id: str, zone_id: str) -> str:
    return f"{map_url(account_id, map_id)}/zones/{zone_id}"


def account_member_url(account_id: str, map_id: str, member_account_id: str) -> str:
    return f"{map_url(account_id, map_id)}/accounts/{member_account_id}"


def create_map(client: httpx.Client, account_id: str, **body: Any) -> dict[str, Any]:
    result: dict[str, Any] = assert_ok(client.post(maps_url(account_id), json=body))
    return result


def get_map(client: httpx.Client, account_id: str, map_id: str) -> dict[str, Any]:
    result: dict[str, Any] = assert_ok(client.get(map_url(account_id, map_id)))
    return result


def ips_of(client: httpx.Client, account_id: str, map_id: str) -> list[str]:
    return [i["ip"] for i in get_map(client, account_id, map_id)["ips"]]


def members_of(client: httpx.Client, account_id: str, map_id: str) -> list[tuple[str, str]]:
    return [(m["kind"], m["identifier"]) for m in get_map(client, account_id, map_id)["memberships"]]


def managed_map(db: SqlDatabase, account_id: str) -> str:
    """A map like Cloudflare's own managed ones (can_delete and can_modify_ips false). No API call
    makes one, so the test writes it through the repository."""
    now = datetime.now(UTC)
    m = AddressMap(new_id(), account_id, "managed", None, False, now, now, can_delete=False, can_modify_ips=False)
    with db.write() as uow:
        uow.address_maps.add(m)
        uow.commit()
    return m.id

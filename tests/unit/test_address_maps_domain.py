"""The address-map rules, without I/O."""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import UTC, datetime

import pytest

from prefixgate.domain.address_maps import (
    AddressMap,
    MapMembership,
    check_account_member,
    check_ips_modifiable,
    check_map_deletable,
    check_membership_removable,
    ip_problem,
    sni_zone_candidates,
)
from prefixgate.domain.codes import Code
from prefixgate.domain.errors import Conflict, InvalidInput
from prefixgate.domain.model import Prefix
from prefixgate.domain.rules import decide_ip_access

NOW = datetime(2026, 12, 2, tzinfo=UTC)
MAP = AddressMap("m" * 32, "a" * 32, None, None, False, NOW, NOW)
IP = ipaddress.ip_address("1.2.3.4")


def prefix(approved: str) -> Prefix:
    return Prefix("p" * 32, MAP.account_id, ipaddress.ip_network("1.2.3.0/24"), 13335, "", approved, NOW, NOW)


def test_disabled_deletable_maps_may_be_deleted_and_others_not() -> None:
    check_map_deletable(MAP)
    with pytest.raises(Conflict) as enabled:
        check_map_deletable(dataclasses.replace(MAP, enabled=True))
    assert enabled.value.code == Code.MAP_ENABLED and "disable it" in enabled.value.message
    with pytest.raises(Conflict) as managed:
        check_map_deletable(dataclasses.replace(MAP, can_delete=False, enabled=True))
    assert managed.value.code == Code.MAP_NOT_DELETABLE
    with pytest.raises(Conflict) as locked:
        check_ips_modifiable(dataclasses.replace(MAP, can_modify_ips=False))
    assert locked.value.code == Code.MAP_IPS_LOCKED


def test_ip_problem_follows_the_shared_access_rule() -> None:
    assert ip_problem(MAP, decide_ip_access(MAP.account_id, IP, prefix("V"), [])) is None
    pending = ip_problem(MAP, decide_ip_access(MAP.account_id, IP, prefix("P"), []))
    assert pending is not None and pending[0] == Code.MAP_IP_NOT_APPROVED and "pending approval" in pending[1]
    stranger = ip_problem(MAP, decide_ip_access("c" * 32, IP, prefix("V"), []))
    assert stranger is not None and stranger[0] == Code.MAP_IP_NOT_USABLE and prefix("V").id not in stranger[1]


def test_only_the_maps_own_account_is_an_account_member() -> None:
    check_account_member(MAP, MAP.account_id)
    with pytest.raises(InvalidInput) as other:
        check_account_member(MAP, "b" * 32)
    assert other.value.code == Code.FOREIGN_ACCOUNT_MEMBER
    with pytest.raises(Conflict):
        check_membership_removable(MapMembership(MAP.id, "zone", "z" * 32, NOW, can_delete=False))


@pytest.mark.parametrize(
    ("name", "zones"),
    [
        ("example.com", ["example.com"]),
        ("*.shop.example.com", ["shop.example.com", "example.com"]),
        ("a.b.example.co.uk", ["a.b.example.co.uk", "b.example.co.uk", "example.co.uk", "co.uk"]),
    ],
)
def test_sni_zone_candidates_are_the_names_suffixes(name: str, zones: list[str]) -> None:
    assert sni_zone_candidates(name) == zones

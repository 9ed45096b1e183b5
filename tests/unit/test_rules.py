"""Business rules over domain values (domain/rules.py)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from prefixgate.domain.codes import Code
from prefixgate.domain.errors import Conflict, InvalidInput
from prefixgate.domain.model import Access, Delegation, Prefix, ReceivedDelegation
from prefixgate.domain.rules import (
    MAX_PREFIX_LENGTH,
    check_asn,
    check_delegation,
    check_prefix_cidr,
    check_prefix_deletable,
    check_prefix_overlap,
    decide_ip_access,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OWNER = "a" * 32
OTHER = "b" * 32
THIRD = "c" * 32


def net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def prefix(cidr: str, *, account: str = OWNER, approved: str = "V", pid: str = "p" * 32) -> Prefix:
    return Prefix(
        id=pid,
        account_id=account,
        cidr=net(cidr),
        asn=13335,
        description="",
        approved=approved,
        created_at=NOW,
        modified_at=NOW,
    )


def delegation(parent: Prefix, cidr: str, to: str, *, did: str = "d" * 32) -> Delegation:
    return Delegation(
        id=did,
        prefix_id=parent.id,
        owner_account_id=parent.account_id,
        cidr=net(cidr),
        delegated_account_id=to,
        created_at=NOW,
        modified_at=NOW,
    )


def received(parent: Prefix, cidr: str, to: str, *, did: str = "d" * 32) -> ReceivedDelegation:
    return ReceivedDelegation(delegation(parent, cidr, to, did=did), parent.cidr)


# --- check_prefix_cidr -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cidr", ["1.2.3.0/24", "1.2.0.0/16", "11.0.0.0/8", "2606:4700::/48", "2606:4700::/32"])
def test_public_prefixes_up_to_the_limit_pass(cidr: str) -> None:
    check_prefix_cidr(net(cidr), allow_non_public=False)


@pytest.mark.parametrize(("cidr", "limit"), [("1.2.3.0/25", "/24"), ("1.2.3.4/32", "/24"), ("2606:4700::/49", "/48")])
def test_too_specific_prefixes_are_refused(cidr: str, limit: str) -> None:
    for lab in (False, True):
        with pytest.raises(InvalidInput) as info:
            check_prefix_cidr(net(cidr), allow_non_public=lab)
        assert info.value.code == Code.PREFIX_TOO_SPECIFIC == 1103
        assert limit in info.value.message and cidr in info.value.message


def test_max_prefix_lengths() -> None:
    assert MAX_PREFIX_LENGTH == {4: 24, 6: 48}


@pytest.mark.parametrize("cidr", ["10.0.0.0/24", "192.0.2.0/24", "2001:db8::/48", "fd00::/48", "8.0.0.0/5"])
def test_non_public_prefixes_are_refused_unless_lab(cidr: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_prefix_cidr(net(cidr), allow_non_public=False)
    assert info.value.code == Code.NON_PUBLIC_PREFIX == 1102
    assert "PREFIXGATE_ALLOW_NON_PUBLIC_PREFIXES" in info.value.message
    check_prefix_cidr(net(cidr), allow_non_public=True)


# --- check_asn -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("asn", [None, 1, 13335, 65535, 65536, 4_294_967_294])
def test_valid_asns_pass(asn: int | None) -> None:
    check_asn(asn)


@pytest.mark.parametrize("asn", [0, -1, 4_294_967_295, 2**32, 2**63])
def test_invalid_asns_are_refused(asn: int) -> None:
    with pytest.raises(InvalidInput) as info:
        check_asn(asn)
    assert info.value.code == Code.INVALID_ASN == 1106
    assert str(asn) in info.value.message


# --- check_prefix_overlap ------------------------------------------------------------------------------------------

EXISTING = [prefix("1.2.0.0/23", pid="1" * 32), prefix("2606:4700::/32", pid="2" * 32)]


@pytest.mark.parametrize("cidr", ["1.2.2.0/24", "1.1.255.0/24", "1.4.0.0/16", "2606:4701::/32", "102:0::/23"])
def test_disjoint_prefixes_pass(cidr: str) -> None:
    check_prefix_overlap(net(cidr), EXISTING)


def test_nothing_onboarded_passes() -> None:
    check_prefix_overlap(net("1.2.3.0/24"), [])


@pytest.mark.parametrize(
    ("cidr", "other"),
    [
        ("1.2.0.0/23", "1.2.0.0/23"),  # equal
        ("1.2.1.0/24", "1.2.0.0/23"),  # inside
        ("1.0.0.0/8", "1.2.0.0/23"),  # around
        ("2606:4700:1::/48", "2606:4700::/32"),
        ("2606::/16", "2606:4700::/32"),
    ],
)
def test_overlapping_prefixes_conflict(cidr: str, other: str) -> None:
    with pytest.raises(Conflict) as info:
        check_prefix_overlap(net(cidr), EXISTING)
    assert info.value.code == Code.PREFIX_OVERLAP == 1104
    assert other in info.value.message


# --- check_delegation ----------------------------------------------------------------------------------------------

PARENT = prefix("1.2.0.0/22")
PARENT6 = prefix("2606:4700::/32", pid="6" * 32)


@pytest.mark.parametrize("cidr", ["1.2.0.0/22", "1.2.3.0/24", "1.2.3.4/32", "1.2.0.0/23"])
def test_delegations_inside_the_prefix_pass(cidr: str) -> None:
    check_delegation(PARENT, net(cidr), OTHER, [])


@pytest.mark.parametrize("cidr", ["1.2.4.0/24", "1.2.0.0/21", "1.0.0.0/8", "9.9.9.9/32"])
def test_delegations_outside_the_prefix_are_refused(cidr: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_delegation(PARENT, net(cidr), OTHER, [])
    assert info.value.code == Code.DELEGATION_OUTSIDE_PREFIX == 1200
    assert cidr in info.value.message and "1.2.0.0/22" in info.value.message


@pytest.mark.parametrize(("parent", "cidr"), [(PARENT, "::102:0/118"), (PARENT6, "1.2.3.0/24"), (PARENT, "::/0")])
def test_delegations_in_the_other_family_are_refused(parent: Prefix, cidr: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_delegation(parent, net(cidr), OTHER, [])
    assert info.value.code == Code.DELEGATION_OUTSIDE_PREFIX


def test_delegating_to_the_owner_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        check_delegation(PARENT, net("1.2.3.0/24"), OWNER, [])
    assert info.value.code == Code.DELEGATION_TO_OWNER == 1201


def test_duplicate_delegation_conflicts_and_names_it() -> None:
    existing = [delegation(PARENT, "1.2.3.0/24", OTHER, did="e" * 32)]
    with pytest.raises(Conflict) as info:
        check_delegation(PARENT, net("1.2.3.0/24"), OTHER, existing)
    assert info.value.code == Code.DELEGATION_EXISTS == 1202
    assert "e" * 32 in info.value.message and OTHER in info.value.message


def test_same_cidr_to_another_account_is_allowed() -> None:
    existing = [delegation(PARENT, "1.2.3.0/24", OTHER)]
    check_delegation(PARENT, net("1.2.3.0/24"), THIRD, existing)


def test_overlapping_but_different_cidr_to_same_account_is_allowed() -> None:
    existing = [delegation(PARENT, "1.2.3.0/24", OTHER)]
    check_delegation(PARENT, net("1.2.3.0/25"), OTHER, existing)
    check_delegation(PARENT, net("1.2.0.0/22"), OTHER, existing)


def test_v6_delegation_rules() -> None:
    check_delegation(PARENT6, net("2606:4700:1::/48"), OTHER, [])
    with pytest.raises(InvalidInput):
        check_delegation(PARENT6, net("2606:4701::/48"), OTHER, [])


# --- check_prefix_deletable ----------------------------------------------------------------------------------------


def test_pending_prefix_without_delegations_is_deletable() -> None:
    check_prefix_deletable(prefix("1.2.3.0/24", approved="P"), 0)


@pytest.mark.parametrize(
    ("approved", "count", "fragments"),
    [
        ("V", 0, ["approved"]),
        ("P", 3, ["3 delegation(s)"]),
        ("V", 1, ["approved", "1 delegation(s)"]),
    ],
)
def test_undeletable_prefixes_conflict(approved: str, count: int, fragments: list[str]) -> None:
    with pytest.raises(Conflict) as info:
        check_prefix_deletable(prefix("1.2.3.0/24", approved=approved), count)
    assert info.value.code == Code.PREFIX_NOT_DELETABLE == 1105
    assert "1.2.3.0/24" in info.value.message
    for fragment in fragments:
        assert fragment in info.value.message


# --- decide_ip_access ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("approved", "allowed"), [("V", True), ("P", False)])
def test_owned_ip(approved: str, allowed: bool) -> None:
    p = prefix("1.2.0.0/22", approved=approved)
    result = decide_ip_access(OWNER, ip("1.2.3.4"), p, [])
    assert result.access is Access.OWNED
    assert result.allowed is allowed
    assert result.prefix == p
    assert result.delegations == ()
    assert p.id in result.message and "1.2.0.0/22" in result.message
    assert ("pending approval" in result.message) is not allowed


@pytest.mark.parametrize(("approved", "allowed"), [("V", True), ("P", False)])
def test_delegated_ip(approved: str, allowed: bool) -> None:
    p = prefix("1.2.0.0/22", approved=approved)
    mine = received(p, "1.2.3.0/24", OTHER, did="f" * 32)
    result = decide_ip_access(OTHER, ip("1.2.3.4"), p, [mine])
    assert result.access is Access.DELEGATED
    assert result.allowed is allowed
    assert result.delegations == (mine,)
    assert result.prefix is None  # the delegatee is not shown the owner's prefix object
    assert "f" * 32 in result.message and OWNER in result.message and "1.2.3.0/24" in result.message
    assert ("pending approval" in result.message) is not allowed


def test_delegated_ip_keeps_only_the_callers_covering_delegations() -> None:
    p = prefix("1.2.0.0/22")
    mine = received(p, "1.2.3.0/24", OTHER, did="1" * 32)
    nested = received(p, "1.2.3.4/32", OTHER, did="2" * 32)
    elsewhere = received(p, "1.2.0.0/24", OTHER, did="3" * 32)
    theirs = received(p, "1.2.3.0/24", THIRD, did="4" * 32)
    result = decide_ip_access(OTHER, ip("1.2.3.4"), p, [nested, theirs, elsewhere, mine])
    assert result.access is Access.DELEGATED
    assert result.delegations == (nested, mine)
    assert "2" * 32 in result.message


def test_owner_access_wins_over_delegations() -> None:
    p = prefix("1.2.0.0/22")
    result = decide_ip_access(OWNER, ip("1.2.3.4"), p, [received(p, "1.2.3.0/24", OTHER)])
    assert result.access is Access.OWNED


@pytest.mark.parametrize(
    "delegations",
    [
        [],
        [("1.2.3.0/24", THIRD)],  # delegated to someone else
        [("1.2.0.0/24", OTHER)],  # delegated to the caller, but not this address
    ],
)
def test_no_access_names_no_other_account(delegations: list[tuple[str, str]]) -> None:
    p = prefix("1.2.0.0/22", pid="9" * 32)
    given = [received(p, cidr, to, did="8" * 32) for cidr, to in delegations]
    result = decide_ip_access(OTHER, ip("1.2.3.4"), p, given)
    assert result.access is Access.NONE
    assert result.allowed is False
    assert result.prefix is None and result.delegations == ()
    for secret in (OWNER, THIRD, p.id, "8" * 32, "1.2.0.0/22", "1.2.3.0/24"):
        assert secret not in result.message
    assert "1.2.3.4" in result.message


def test_no_prefix_means_no_access() -> None:
    result = decide_ip_access(OTHER, ip("9.9.9.9"), None, [])
    assert result.access is Access.NONE and not result.allowed
    assert result.ip == ip("9.9.9.9") and result.account_id == OTHER

"""Business rules for prefixes, delegations and IP usability. Pure functions over domain values."""

from __future__ import annotations

from collections.abc import Sequence

from .codes import Code
from .errors import Conflict, InvalidInput
from .model import Access, Delegation, IpAccess, Prefix, ReceivedDelegation
from .net import IPAddress, IPNetwork, non_public_reason

__all__ = [
    "MAX_PREFIX_LENGTH",
    "check_asn",
    "check_delegation",
    "check_prefix_cidr",
    "check_prefix_deletable",
    "check_prefix_overlap",
    "decide_ip_access",
]

MAX_PREFIX_LENGTH = {4: 24, 6: 48}
_MAX_ASN = 4_294_967_295


def check_prefix_cidr(net: IPNetwork, *, allow_non_public: bool) -> None:
    """Refuse a network that cannot be onboarded as a BYOIP prefix.

    Raises:
        InvalidInput: longer than /24 (IPv4) or /48 (IPv6), or not public unicast space.
    """
    longest = MAX_PREFIX_LENGTH[net.version]
    if net.prefixlen > longest:
        raise InvalidInput(
            f"prefix {net} is too specific: IPv{net.version} prefixes may be at most /{longest} long",
            code=Code.PREFIX_TOO_SPECIFIC,
        )
    if not allow_non_public:
        reason = non_public_reason(net)
        if reason is not None:
            raise InvalidInput(
                f"prefix {net} is not public unicast space: {reason}. "
                "Labs can allow it with PREFIXGATE_ALLOW_NON_PUBLIC_PREFIXES=1",
                code=Code.NON_PUBLIC_PREFIX,
            )


def check_asn(asn: int | None) -> None:
    """Raises InvalidInput when the ASN is outside 1..4294967294."""
    if asn is not None and not 0 < asn < _MAX_ASN:
        raise InvalidInput(f"asn {asn} is not a valid 32-bit AS number (1-4294967294)", code=Code.INVALID_ASN)


def check_prefix_overlap(net: IPNetwork, existing: Sequence[Prefix]) -> None:
    """Raises Conflict when any existing prefix shares an address with `net`."""
    for other in existing:
        if other.cidr.overlaps(net):
            raise Conflict(
                f"prefix {net} overlaps prefix {other.cidr}, which is already onboarded; "
                "no address may belong to two prefixes",
                code=Code.PREFIX_OVERLAP,
            )


def check_delegation(
    prefix: Prefix, cidr: IPNetwork, delegated_account_id: str, existing: Sequence[Delegation]
) -> None:
    """Refuse a delegation that breaks a rule.

    Args:
        existing: the prefix's delegations with the same CIDR (others are irrelevant).

    Raises:
        InvalidInput: the CIDR is outside the prefix, or the delegatee is the owner.
        Conflict: the same CIDR is already delegated to the same account.
    """
    if cidr.version != prefix.cidr.version or not cidr.subnet_of(prefix.cidr):  # type: ignore[arg-type]
        raise InvalidInput(
            f"cidr {cidr} is not inside prefix {prefix.cidr}; a delegation must be the prefix or part of it",
            code=Code.DELEGATION_OUTSIDE_PREFIX,
        )
    if delegated_account_id == prefix.account_id:
        raise InvalidInput(
            "delegated_account_id is the prefix's own account; an owner cannot delegate to itself",
            code=Code.DELEGATION_TO_OWNER,
        )
    for d in existing:
        if d.cidr == cidr and d.delegated_account_id == delegated_account_id:
            raise Conflict(
                f"{cidr} is already delegated to account {delegated_account_id} (delegation {d.id})",
                code=Code.DELEGATION_EXISTS,
            )


def check_prefix_deletable(prefix: Prefix, delegation_count: int) -> None:
    """Only an unapproved prefix without delegations may be deleted.

    Raises:
        Conflict: the prefix is approved or still has delegations.
    """
    reasons = []
    if prefix.is_approved:
        reasons.append("it is approved (only pending prefixes can be deleted)")
    if delegation_count:
        reasons.append(f"it has {delegation_count} delegation(s); delete them first")
    if reasons:
        raise Conflict(
            f"prefix {prefix.cidr} cannot be deleted: " + " and ".join(reasons), code=Code.PREFIX_NOT_DELETABLE
        )


def decide_ip_access(
    account_id: str,
    ip: IPAddress,
    containing_prefix: Prefix | None,
    delegations: Sequence[ReceivedDelegation],
) -> IpAccess:
    """Decide whether `account_id` may use `ip`.

    Args:
        containing_prefix: the prefix that holds `ip`, if any (prefixes never overlap).
        delegations: delegations of that prefix to `account_id` that cover `ip`.

    An owned address is usable once its prefix is approved; a delegated one once the parent is.
    When the account has neither, the answer names nothing of other accounts.
    """
    if containing_prefix is not None and containing_prefix.account_id == account_id:
        approved = containing_prefix.is_approved
        state = "" if approved else ", which is pending approval"
        return IpAccess(
            ip=ip,
            account_id=account_id,
            access=Access.OWNED,
            allowed=approved,
            message=f"{ip} is owned via prefix {containing_prefix.id} ({containing_prefix.cidr}){state}",
            prefix=containing_prefix,
        )
    mine = tuple(d for d in delegations if d.delegation.delegated_account_id == account_id and ip in d.delegation.cidr)
    if containing_prefix is not None and mine:
        first = mine[0].delegation
        approved = containing_prefix.is_approved
        state = "" if approved else f"; the parent prefix {containing_prefix.cidr} is pending approval"
        return IpAccess(
            ip=ip,
            account_id=account_id,
            access=Access.DELEGATED,
            allowed=approved,
            message=(
                f"{ip} is delegated via delegation {first.id} ({first.cidr}) "
                f"from account {first.owner_account_id}{state}"
            ),
            delegations=mine,
        )
    return IpAccess(
        ip=ip,
        account_id=account_id,
        access=Access.NONE,
        allowed=False,
        message=f"account {account_id} neither owns {ip} nor was delegated it",
    )

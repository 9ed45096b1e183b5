"""Validating custom hostnames against DNS: on request, and in the background at an interval.

DNS is asked outside any transaction (it is slow and may time out). The decision is then taken in one
short write transaction that holds the same lock as the changes that take addresses away (revocation),
so a hostname never turns active on an address whose delegation or binding is being removed, and
two zones racing to activate one name are decided one after the other: one wins, the others stay pending.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from ..domain.codes import Code
from ..domain.errors import NotFound
from ..domain.hostnames import ACTIVE, CustomHostname, DnsAnswer, decide
from ..domain.roles import Permission
from .context import Actor, record, utcnow
from .hostname_records import hostname_audit_record
from .ports import Database, HostnameInspector
from .usability import cdn_problem
from .zones import zone_for

__all__ = ["BACKGROUND", "check_hostname", "revalidate_due", "validate_hostname"]

BACKGROUND = Actor(user=None, interface="revalidation", is_system=True)


def _gather(db: Database, inspector: HostnameInspector, hostname_id: str) -> tuple[CustomHostname, DnsAnswer] | None:
    with db.read() as uow:
        host = uow.hostnames.by_id(hostname_id)
        has_fallback = host is not None and uow.fallback_origins.get(host.zone_id) is not None
    if host is None:
        return None
    if not has_fallback:
        return host, DnsAnswer()  # nothing to look up: the decision is "no fallback origin"
    answer = inspector.inspect(
        host.hostname, hostname_id=host.id, token=host.ownership_token, check_http=host.ssl.method == "http"
    )
    return host, answer


def check_hostname(
    db: Database, inspector: HostnameInspector, hostname_id: str, *, actor: Actor
) -> CustomHostname | None:
    """Look the hostname up and record the outcome; None when it no longer exists."""
    gathered = _gather(db, inspector, hostname_id)
    if gathered is None:
        return None
    _, answer = gathered
    with db.write() as uow:
        uow.spectrum.lock_claims()  # the usage lock: serialises with revocations and other validations
        host = uow.hostnames.by_id(hostname_id)
        zone = uow.zones.get(host.zone_id) if host is not None else None
        if host is None or zone is None:
            return None
        fallback = uow.fallback_origins.get(host.zone_id)
        problems = {ip: cdn_problem(uow, host.account_id, ip) for ip in answer.addresses}
        holder = uow.hostnames.active_named(host.hostname)
        verdict = decide(
            host,
            zone_name=zone.name,
            fallback_origin=fallback.origin if fallback else None,
            dns=answer,
            address_problems=problems,
            active_elsewhere=holder is not None and holder.id != host.id,
        )
        now = utcnow()
        after = dataclasses.replace(
            host,
            status=verdict.status,
            verification_errors=verdict.errors,
            addresses=verdict.addresses,
            route=verdict.route,
            checked_at=now,
            verified_at=now if verdict.status == ACTIVE and host.status != ACTIVE else host.verified_at,
        )
        uow.hostnames.replace(after)
        if after.status != host.status:
            action = "custom_hostname.activated" if after.status == ACTIVE else "custom_hostname.deactivated"
            record(
                uow,
                actor,
                action,
                host.id,
                owners=[("account", host.account_id)],
                old=hostname_audit_record(host),
                new=hostname_audit_record(after),
                metadata={"zone_id": host.zone_id, "errors": list(verdict.errors)},
            )
        uow.commit()
    return after


def validate_hostname(
    db: Database, inspector: HostnameInspector, actor: Actor, zone_id: str, hostname_id: str
) -> CustomHostname:
    """POST .../custom_hostnames/{id}/validate: re-check now and return the object."""
    with db.read() as uow:
        zone = zone_for(uow, actor, zone_id, Permission.SSL_WRITE)
        host = uow.hostnames.get(zone.id, hostname_id)
    if host is None:
        raise NotFound("custom hostname not found", code=Code.NOT_FOUND)
    checked = check_hostname(db, inspector, host.id, actor=actor)
    if checked is None:  # deleted meanwhile
        raise NotFound("custom hostname not found", code=Code.NOT_FOUND)
    return checked


def revalidate_due(db: Database, inspector: HostnameInspector, interval_s: float, *, batch: int = 50) -> int | None:
    """Claim the hostnames due for a check (moving their next check one interval on, so no other process
    checks them in this interval), check them, and return how many were checked; None when the claim had to
    be skipped because another writer holds SQLite's lock (the next round claims them).

    An idle database costs one indexed read: the claim (a write) is only tried when something is due,
    and skipped while another writer holds SQLite's lock (the next round claims it).
    """
    now = utcnow()
    with db.read() as uow:
        if not uow.hostnames.any_due(now):
            return 0
    with db.write_if_free() as claim:
        if claim is None:
            return None
        ids = claim.hostnames.claim_due(now, now + timedelta(seconds=interval_s), batch)
        claim.commit()
    for hostname_id in ids:
        check_hostname(db, inspector, hostname_id, actor=BACKGROUND)
    return len(ids)

"""Validating custom hostnames against DNS: on request, and in the background at an interval.

DNS is asked outside any transaction (it is slow and may time out). The decision is then taken in one
short write transaction that holds the same lock as the changes that take addresses away (revocation),
so a hostname never turns active on an address whose delegation or binding is being removed, and
two zones racing to activate one name are decided one after the other: one wins, the others stay pending.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
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

__all__ = ["Revalidator", "check_hostname", "revalidate_due", "validate_hostname"]

_log = logging.getLogger("prefixgate.revalidation")

BACKGROUND = Actor(user=None, interface="revalidation", is_system=True)
# The shortest sleep of the background loop: a hostname that is due but being claimed by another
# process (its row locked, then moved on) is looked at again this soon, without spinning.
_MIN_PAUSE_S = 0.005


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


def revalidate_due(db: Database, inspector: HostnameInspector, interval_s: float, *, batch: int = 50) -> int:
    """Claim the hostnames due for a check (moving their next check one interval on, so no other process
    checks them in this interval), check them, and return how many were checked."""
    now = utcnow()
    with db.write() as uow:
        ids = uow.hostnames.claim_due(now, now + timedelta(seconds=interval_s), batch)
        uow.commit()
    for hostname_id in ids:
        try:
            check_hostname(db, inspector, hostname_id, actor=BACKGROUND)
        except Exception:  # one bad hostname must not stop the others; it is retried next interval
            _log.exception("re-validating custom hostname %s failed", hostname_id)
    return len(ids)


class Revalidator:
    """Runs revalidate_due in a background thread of the serve process, until stopped.

    When nothing is due it sleeps until the next hostname falls due (at most `idle_s`, so hostnames
    created meanwhile, which are due at once, wait no longer than that). Waking at the due time, not a
    fixed pause after the work, keeps each hostname's checks one interval apart however long a round of
    checks took: otherwise every round would add its own duration to the next hostname's interval.
    """

    def __init__(self, db: Database, inspector: HostnameInspector, interval_s: float, *, idle_s: float = 1.0) -> None:
        self._db = db
        self._inspector = inspector
        self._interval_s = interval_s
        self._idle_s = min(idle_s, interval_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prefixgate-revalidation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _pause(self) -> float:
        """Seconds until the next hostname is due, from _MIN_PAUSE_S to idle_s."""
        with self._db.read() as uow:
            due = uow.hostnames.next_due()
        if due is None:
            return self._idle_s
        return min(self._idle_s, max((due - utcnow()).total_seconds(), _MIN_PAUSE_S))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pause = 0.0 if revalidate_due(self._db, self._inspector, self._interval_s) else self._pause()
            except Exception:  # the database may be briefly away; try again after a pause
                _log.exception("claiming custom hostnames for re-validation failed")
                pause = self._idle_s
            if pause:
                self._stop.wait(pause)

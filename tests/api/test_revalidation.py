"""Background re-validation over a real HTTP server, against a real DNS server on loopback.

The server below re-checks every custom hostname each INTERVAL_S, in its own background thread (as
`prefixgate serve` does); no test here calls POST .../validate after setting a hostname up. Tests wait
for events, never for fixed times: a background check having finished is seen in the database (the
hostname's `checked_at` moves on), a status change in the API and the audit log. The one measured
window is in the cadence test, which counts the DNS server's queries over a span of intervals.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import pytest

from prefixgate.service.context import utcnow
from prefixgate.settings import Settings
from tests.api.cdn_helpers import NO_CNAME, NOT_OWNED, CdnStage, cdn_stage, hostname_url, hostnames_url, shop_name
from tests.api.helpers import assert_ok
from tests.api.spectrum_helpers import audit_entries
from tests.dnsserver import LoopbackDns
from tests.support import Server, fresh_database_url, make_world

INTERVAL_S = 0.5
DNS_TIMEOUT_S = 0.3  # a dropped query costs one check this long
# How long to poll beyond the promise before giving up, for a loaded machine (2 cores, -n 2). The promise
# itself (a change in DNS is reflected within two intervals) is asserted on the audit log's times: the
# next check starts within one interval of the change, and writes its decision a lookup later.
GRACE_S = 1.5
LOOKUP_FAILED = "DNS lookup failed, status unchanged: "
T = TypeVar("T")


@pytest.fixture(scope="module")
def reval_dns() -> Iterator[LoopbackDns]:
    with LoopbackDns() as dns:
        yield dns


@pytest.fixture(scope="module")
def reval_server(
    engine_name: str, tmp_path_factory: pytest.TempPathFactory, reval_dns: LoopbackDns
) -> Iterator[Server]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("revaldb"))) as url:
        settings = Settings(
            database_url=url,
            dns_server=reval_dns.address,
            dns_timeout_s=DNS_TIMEOUT_S,
            revalidate_interval_s=INTERVAL_S,
        )
        s = Server(settings).start()
        yield s
        s.stop()


@pytest.fixture
def bg(reval_server: Server, reval_dns: LoopbackDns) -> Iterator[CdnStage]:
    """The usual stage (A's /24 on CDN, its first /25 delegated to B, fallback origins everywhere) on the
    re-validating server. Its hostnames are deleted afterwards, so later tests' intervals are not spent
    checking them."""
    world = make_world(reval_server)
    try:
        stage = cdn_stage(world, reval_dns)
        yield stage
        for who in ("a", "b", "c"):
            zone = stage.zone(who)["id"]
            for h in assert_ok(stage.client(who).get(hostnames_url(zone), params={"per_page": 50})):
                assert_ok(stage.client(who).delete(hostname_url(zone, h["id"])))
    finally:
        reval_dns.heal()
        world.close()


def until(probe: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll `probe` until it returns something (not None), or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while (got := probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.02)
    return got


def checked_at(s: CdnStage, hostname_id: str) -> datetime | None:
    """When the hostname's last check finished, as the database has it."""
    with s.world.server.db.read() as uow:
        host = uow.hostnames.by_id(hostname_id)
    assert host is not None
    return host.checked_at


def next_check(s: CdnStage, hostname_id: str, after: datetime | None) -> datetime:
    """Wait for a check of the hostname that finished after `after` (None: any check); return its time."""

    def probe() -> datetime | None:
        at = checked_at(s, hostname_id)
        return at if at is not None and (after is None or at > after) else None

    return until(probe, INTERVAL_S + GRACE_S, f"a background check of {hostname_id} after {after}")


def watch_checks(s: CdnStage, who: str, host: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Wait for `n` more background checks of `host`; the hostname as the API shows it after each."""
    seen, at = [], checked_at(s, host["id"])
    for _ in range(n):
        at = next_check(s, host["id"], at)
        seen.append(s.get(who, host["id"]))
    return seen


def _status_events(s: CdnStage, who: str, host: dict[str, Any]) -> list[dict[str, Any]]:
    account = s.base.account(who)
    events = [
        e
        for action in ("custom_hostname.activated", "custom_hostname.deactivated")
        for e in audit_entries(s.client(who), account, action)
        if e["resource"]["id"] == host["id"]
    ]
    return sorted(events, key=lambda e: str(e["when"]))


def status_changes(s: CdnStage, who: str, host: dict[str, Any]) -> list[tuple[str, str]]:
    """The hostname's activations and deactivations in its account's audit log, oldest first, with the
    interface that made them."""
    return [(str(e["action"]["type"]).rpartition(".")[2], str(e["interface"])) for e in _status_events(s, who, host)]


def seconds_to_last_change(s: CdnStage, who: str, host: dict[str, Any], since: datetime) -> float:
    """How long after `since` the hostname's latest status change was written (the audit log's time)."""
    when = datetime.fromisoformat(str(_status_events(s, who, host)[-1]["when"]))
    return (when - since).total_seconds()


def wait_status(s: CdnStage, who: str, host: dict[str, Any], status: str, timeout_s: float) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        got = s.get(who, host["id"])
        return got if got["status"] == status else None

    return until(probe, timeout_s, f"{host['hostname']} {status}")


def test_a_pending_hostname_turns_active_in_the_background_once_its_records_appear(bg: CdnStage) -> None:
    host = bg.create("b", shop_name())
    # New hostnames are due at once: the first background check finds no records.
    first = next_check(bg, host["id"], None)
    before = bg.get("b", host["id"])
    assert before["status"] == "pending" and before["verification_errors"][0] == NO_CNAME, before
    next_check(bg, host["id"], first)
    assert bg.get("b", host["id"])["status"] == "pending"

    published = utcnow()
    bg.publish(host, bg.ip(10))
    active = wait_status(bg, "b", host, "active", 2 * INTERVAL_S + GRACE_S)
    assert active["verification_errors"] == [], active
    assert seconds_to_last_change(bg, "b", host, published) < 2 * INTERVAL_S
    assert bg.resolve(bg.ip(10), host["hostname"])["served"] is True
    assert status_changes(bg, "b", host) == [("activated", "revalidation")]


@pytest.mark.parametrize("change", ["address moved", "token removed"])
def test_an_active_hostname_goes_back_to_pending_when_its_records_change(bg: CdnStage, change: str) -> None:
    host = bg.activate("b", shop_name())
    # Unchanged records keep it active, check after check.
    assert [h["status"] for h in watch_checks(bg, "b", host, 2)] == ["active", "active"]
    assert status_changes(bg, "b", host) == [("activated", "API")]

    changed = utcnow()
    if change == "address moved":
        bg.publish(host, bg.ip(200))  # A's, outside the /25 delegated to B
    else:
        bg.dns.delete(host["ownership_verification"]["name"])
    pending = wait_status(bg, "b", host, "pending", 2 * INTERVAL_S + GRACE_S)
    if change == "address moved":
        assert pending["verification_errors"][0] == NOT_OWNED, pending
        assert pending["verification_errors"][1].startswith(f"{bg.ip(200)}: ip_not_usable: "), pending
    else:
        assert pending["verification_errors"] == [
            "The pre-generated ownership validation token was not found in the TXT record or at the HTTP "
            "validation URL."
        ], pending
    assert status_changes(bg, "b", host) == [("activated", "API"), ("deactivated", "revalidation")]
    assert seconds_to_last_change(bg, "b", host, changed) < 2 * INTERVAL_S
    resolved = bg.resolve(bg.ip(10), host["hostname"])
    assert resolved["served"] is False and resolved["reason"] == "hostname_not_active"


def test_a_forced_revocation_holds_and_a_new_delegation_reactivates(bg: CdnStage) -> None:
    """Forcing the delegation away sends the hostname to pending at once; the background checks keep it
    pending (the address is no longer B's) and activate it again once B holds the address again."""
    host = bg.activate("b", shop_name())
    delegation = assert_ok(bg.base.owner.get(bg.base.delegations_url))[0]
    assert_ok(bg.base.owner.delete(f"{bg.base.delegations_url}/{delegation['id']}", params={"force": "true"}))
    assert bg.get("b", host["id"])["status"] == "pending"
    for seen in watch_checks(bg, "b", host, 2):
        assert seen["status"] == "pending", seen
        assert seen["verification_errors"][0] == NOT_OWNED, seen
        assert seen["verification_errors"][1].startswith(f"{bg.ip(10)}: ip_not_usable: "), seen

    bg.base.delegate(bg.base.cidr(0, 25), "b")
    again = wait_status(bg, "b", host, "active", 2 * INTERVAL_S + GRACE_S)
    assert again["verification_errors"] == []
    assert [event for event, _ in status_changes(bg, "b", host)] == ["activated", "deactivated", "activated"]


@pytest.mark.parametrize("failure", ["drop", "servfail"])
def test_a_failing_dns_server_changes_nothing_and_healing_clears_the_error(bg: CdnStage, failure: str) -> None:
    host = bg.activate("b", shop_name())
    names = (host["hostname"], host["ownership_verification"]["name"])
    fail = {"drop": bg.dns.drop, "servfail": bg.dns.servfail}[failure]
    for name in names:
        fail(name)
    # A check that had its DNS answers before the failure began may still be writing them: skip it.
    for seen in watch_checks(bg, "b", host, 4)[1:]:
        assert seen["status"] == "active", seen
        assert len(seen["verification_errors"]) == 1, seen
        assert seen["verification_errors"][0].startswith(LOOKUP_FAILED), seen
        detail = "timeout" if failure == "drop" else "SERVFAIL"
        assert detail in seen["verification_errors"][0], seen
        assert bg.resolve(bg.ip(10), host["hostname"])["served"] is True
    assert status_changes(bg, "b", host) == [("activated", "API")]

    for name in names:
        bg.dns.heal(name)

    def healed() -> dict[str, Any] | None:
        got = bg.get("b", host["id"])
        return got if got["verification_errors"] == [] else None

    assert until(healed, 2 * INTERVAL_S + GRACE_S, "errors cleared")["status"] == "active"
    assert status_changes(bg, "b", host) == [("activated", "API")]


WINDOW_INTERVALS = 6


def test_each_hostname_is_checked_once_per_interval(bg: CdnStage) -> None:
    """Count the TXT questions for each hostname's `_cf-custom-hostname.` name (each check asks exactly
    one, first) over a window of N = WINDOW_INTERVALS intervals.

    A check claims the hostname by moving its next check to claim time + interval, so two checks of one
    hostname start at least an interval apart: a window of N intervals that opens just after a check
    holds at most N checks, N + 1 with the jitter of where in a round each check starts. The loop wakes
    when the next hostname falls due and claims it then, so the gaps are barely longer than an interval:
    at least N - 1 in the window. A process that ignored the lease (checked in every loop) would ask
    many times more often; a loop that paused a fixed interval after each round (as this one once did)
    adds the round's duration to every gap, and fell to 4 or 5 here.
    """
    hosts = [bg.activate("b", shop_name(f"cadence{i}"), ip_host=10 + i) for i in range(3)]
    txt = [h["ownership_verification"]["name"] for h in hosts]
    # Open the window just after a check of the first hostname has started.
    start = bg.dns.count(txt[0], "TXT")
    until(lambda: bg.dns.count(txt[0], "TXT") > start or None, INTERVAL_S + GRACE_S, "a first check")
    before = [bg.dns.count(name, "TXT") for name in txt]
    window_ends = time.monotonic() + WINDOW_INTERVALS * INTERVAL_S
    while time.monotonic() < window_ends:  # measuring a span of time: the one place we watch a clock
        time.sleep(0.05)
    counts = [bg.dns.count(name, "TXT") - b for name, b in zip(txt, before, strict=True)]
    n = WINDOW_INTERVALS
    assert all(n - 1 <= c <= n + 1 for c in counts), f"TXT queries per hostname in {n} intervals: {counts}"
    assert [h["status"] for h in (bg.get("b", h["id"]) for h in hosts)] == ["active"] * 3

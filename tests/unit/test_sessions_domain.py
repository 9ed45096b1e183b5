"""The failed-login throttle and sessions as pure decisions (domain/sessions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from prefixgate.domain.sessions import LoginFailures, LoginPolicy, WebSession, after_failure, locked_for

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY = LoginPolicy(max_failures=3, window=timedelta(minutes=10), cooldown=timedelta(minutes=5))
KEY = "email:a@example.com"


def fail(times: int, *, every: timedelta = timedelta(seconds=1)) -> LoginFailures:
    entry = None
    for i in range(times):
        entry = after_failure(entry, KEY, T0 + i * every, POLICY)
    assert entry is not None
    return entry


def test_the_first_failure_starts_a_count() -> None:
    entry = after_failure(None, KEY, T0, POLICY)
    assert entry == LoginFailures(key=KEY, failures=1, first_at=T0, locked_until=None)
    assert locked_for(entry, T0) is None


def test_an_entry_made_by_lock_counts_from_zero() -> None:
    # SqlLoginFailureRepo.lock inserts failures=0 when there was no row: the next failure is the first.
    zero = LoginFailures(key=KEY, failures=0, first_at=T0)
    assert after_failure(zero, KEY, T0, POLICY) == LoginFailures(KEY, 1, T0, None)


def test_failures_below_the_limit_are_counted_but_not_locked() -> None:
    entry = fail(2)
    assert (entry.failures, entry.first_at, entry.locked_until) == (2, T0, None)
    assert locked_for(entry, T0 + timedelta(seconds=2)) is None


def test_reaching_the_limit_starts_a_cool_down_from_that_failure() -> None:
    entry = fail(3)
    last = T0 + timedelta(seconds=2)
    assert entry.failures == 3
    assert entry.locked_until == last + POLICY.cooldown
    assert locked_for(entry, last) == POLICY.cooldown
    assert locked_for(entry, last + timedelta(minutes=4)) == timedelta(minutes=1)


def test_the_lock_ends_exactly_at_locked_until() -> None:
    entry = fail(3)
    assert entry.locked_until is not None
    assert locked_for(entry, entry.locked_until - timedelta(microseconds=1)) == timedelta(microseconds=1)
    assert locked_for(entry, entry.locked_until) is None
    assert locked_for(entry, entry.locked_until + timedelta(hours=1)) is None


def test_no_entry_is_never_locked() -> None:
    assert locked_for(None, T0) is None


def test_failures_spread_wider_than_the_window_never_lock() -> None:
    # One failure every 6 minutes: the third falls 12 minutes after the first, outside the 10-minute window.
    entry = fail(3, every=timedelta(minutes=6))
    assert entry.locked_until is None
    assert entry.failures == 1 and entry.first_at == T0 + timedelta(minutes=12)


def test_a_failure_exactly_one_window_after_the_first_starts_again() -> None:
    first = after_failure(None, KEY, T0, POLICY)
    again = after_failure(first, KEY, T0 + POLICY.window, POLICY)
    assert (again.failures, again.first_at) == (1, T0 + POLICY.window)
    inside = after_failure(first, KEY, T0 + POLICY.window - timedelta(microseconds=1), POLICY)
    assert (inside.failures, inside.first_at) == (2, T0)


def test_the_end_of_a_cool_down_restarts_the_count() -> None:
    locked = fail(3)
    assert locked.locked_until is not None
    after = after_failure(locked, KEY, locked.locked_until, POLICY)
    assert after == LoginFailures(KEY, 1, locked.locked_until, None)
    # It takes the full number of failures again to lock again.
    second = after_failure(after, KEY, locked.locked_until + timedelta(seconds=1), POLICY)
    assert (second.failures, second.locked_until) == (2, None)
    third = after_failure(second, KEY, locked.locked_until + timedelta(seconds=2), POLICY)
    assert third.failures == 3 and third.locked_until == locked.locked_until + timedelta(seconds=2) + POLICY.cooldown


def test_a_failure_during_a_cool_down_extends_it() -> None:
    # Logins are refused while locked, so this happens only to requests that raced the lock.
    locked = fail(3)
    later = T0 + timedelta(minutes=1)
    extended = after_failure(locked, KEY, later, POLICY)
    assert extended.failures == 4
    assert extended.locked_until == later + POLICY.cooldown


def test_a_limit_of_one_locks_on_the_first_failure() -> None:
    once = LoginPolicy(max_failures=1, window=timedelta(minutes=1), cooldown=timedelta(seconds=30))
    entry = after_failure(None, KEY, T0, once)
    assert locked_for(entry, T0) == timedelta(seconds=30)


def test_the_key_given_is_the_key_kept() -> None:
    assert after_failure(None, "ip:192.0.2.1", T0, POLICY).key == "ip:192.0.2.1"


def test_a_session_is_live_until_it_expires() -> None:
    s = WebSession("d" * 64, "u" * 32, "t", T0, T0 + timedelta(hours=1), T0)
    assert s.live(T0)
    assert s.live(T0 + timedelta(minutes=59))
    assert not s.live(T0 + timedelta(hours=1))


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=20 * 60), min_size=1, max_size=30),
    max_failures=st.integers(min_value=1, max_value=6),
)
def test_the_throttle_locks_exactly_when_the_limit_is_reached_within_one_window(
    gaps: list[int], max_failures: int
) -> None:
    """Against a plain model: the count restarts when the window has passed or a cool-down has ended,
    a lock starts when the count reaches the limit, and locked_for says how long is left."""
    policy = LoginPolicy(max_failures=max_failures, window=timedelta(minutes=10), cooldown=timedelta(minutes=5))
    entry: LoginFailures | None = None
    count, first, until = 0, T0, None
    now = T0
    for gap in gaps:
        now += timedelta(seconds=gap)
        if count == 0 or now - first >= policy.window or (until is not None and until <= now):
            count, first = 1, now
        else:
            count += 1
        until = now + policy.cooldown if count >= max_failures else None
        entry = after_failure(entry, KEY, now, policy)
        assert (entry.failures, entry.first_at, entry.locked_until) == (count, first, until)
        assert entry.failures <= len(gaps)
        wait = locked_for(entry, now)
        assert wait == (policy.cooldown if count >= max_failures else None)

"""Dashboard sessions and the failed-login throttle, as plain values and pure decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .codes import Code
from .errors import InvalidInput

__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "LoginFailures",
    "LoginPolicy",
    "WebSession",
    "after_failure",
    "check_password",
    "locked_for",
]

MIN_PASSWORD = 8
MAX_PASSWORD = 1024


def check_password(password: str) -> None:
    """Raises InvalidInput unless a new dashboard password has 8 to 1024 characters."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters", code=Code.INVALID_FIELD)


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser. The cookie carries a random value; only its digest (`id`) is stored."""

    id: str
    user_id: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime

    def live(self, now: datetime) -> bool:
        return now < self.expires_at


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """After `max_failures` failed logins within `window`, refuse logins for `cooldown`."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    cooldown: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class LoginFailures:
    """Failed logins counted under one key: an email address or a client address."""

    key: str
    failures: int
    first_at: datetime
    locked_until: datetime | None = None


def locked_for(entry: LoginFailures | None, now: datetime) -> timedelta | None:
    """How much longer logins under this key are refused (None: they are not)."""
    if entry is None or entry.locked_until is None or entry.locked_until <= now:
        return None
    return entry.locked_until - now


def after_failure(entry: LoginFailures | None, key: str, now: datetime, policy: LoginPolicy) -> LoginFailures:
    """The count after one more failure. A window that has passed, or a cool-down that has ended,
    starts the count again; reaching the limit starts a cool-down."""
    fresh = (
        entry is None
        or now - entry.first_at >= policy.window
        or (entry.locked_until is not None and entry.locked_until <= now)
    )
    failures, first_at = (1, now) if fresh or entry is None else (entry.failures + 1, entry.first_at)
    locked_until = now + policy.cooldown if failures >= policy.max_failures else None
    return LoginFailures(key=key, failures=failures, first_at=first_at, locked_until=locked_until)

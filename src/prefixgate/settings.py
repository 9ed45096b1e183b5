"""The one typed Settings object. Read from the environment (prefix PREFIXGATE_) and CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import TypeVar

from .adapters.dns.servers import DnsServer, format_dns_server, parse_dns_server

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "SettingsError"]

DEFAULT_DATABASE_URL = "sqlite:///./prefixgate.db"
_LOOPBACK: tuple[IPv4Network | IPv6Network, ...] = (ip_network("127.0.0.0/8"), ip_network("::1/128"))
_TRUE = {"1", "true", "yes", "on"}
_N = TypeVar("_N", int, float)


class SettingsError(ValueError):
    """A setting has a value prefixgate cannot use; the message names the variable and the value."""


def _networks(name: str, value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma-separated CIDRs (a bare address is a /32 or /128); an empty value is an empty tuple.

    Raises:
        SettingsError: an entry is not a CIDR, or has host bits set.
    """
    nets: list[IPv4Network | IPv6Network] = []
    for part in value.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            nets.append(ip_network(text))
        except ValueError as exc:
            raise SettingsError(f"PREFIXGATE_{name}: {text!r} is not a CIDR such as 10.0.0.0/8 ({exc})") from None
    return tuple(nets)


def _number(name: str, value: str, kind: type[_N], what: str) -> _N:
    try:
        return kind(value.strip())
    except ValueError:
        raise SettingsError(f"PREFIXGATE_{name} must be {what}, not {value!r}") from None


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    allow_non_public_prefixes: bool = False
    max_body_bytes: int = 256 * 1024
    statement_timeout_ms: int = 15_000
    connect_timeout_s: int = 5
    sqlite_busy_timeout_ms: int = 10_000
    log_level: str = "INFO"
    # How long who a credential is may be remembered. A deleted token, a removed member or a changed
    # role is refused at once by the worker that made the change and within this time by every other.
    credential_cache_ttl_s: float = 0.5
    metrics_allow: tuple[IPv4Network | IPv6Network, ...] = _LOOPBACK
    # Custom-hostname validation: where DNS questions go (None: the nameservers of /etc/resolv.conf),
    # how long one query or one HTTP check may wait, and the HTTP check's port (80; others for labs).
    dns_server: DnsServer | None = None
    dns_timeout_s: float = 3.0
    validation_http_port: int = 80
    # Seconds between background re-validations of each custom hostname (0 turns them off).
    revalidate_interval_s: float = 300.0
    # Dashboard: an idle session ends after session_idle_s; after login_max_failures failed logins
    # (per email, and per client address) within login_window_s, logins answer 429 for login_cooldown_s.
    session_idle_s: float = 12 * 3600.0
    login_max_failures: int = 5
    login_window_s: float = 900.0
    login_cooldown_s: float = 300.0
    # The edge feed keeps the changes of this many newest revisions; an edge that has not reported for
    # edge_stale_s seconds is stale and no longer holds bindings in provisioning.
    edge_feed_keep: int = 100_000
    edge_stale_s: float = 30.0

    @property
    def allow_non_global_http(self) -> bool:
        """The lab setting also lets the HTTP validation check connect to loopback, private and other
        non-global addresses; without it those are never connected to (no SSRF into our network)."""
        return self.allow_non_public_prefixes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from PREFIXGATE_* variables; unset ones keep their defaults."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            return env.get(f"PREFIXGATE_{name}")

        s = cls()
        if (v := get("DATABASE_URL")) is not None:
            s = replace(s, database_url=v)
        if (v := get("ALLOW_NON_PUBLIC_PREFIXES")) is not None:
            s = replace(s, allow_non_public_prefixes=v.strip().lower() in _TRUE)
        if (v := get("MAX_BODY_BYTES")) is not None:
            s = replace(s, max_body_bytes=int(v))
        if (v := get("STATEMENT_TIMEOUT_MS")) is not None:
            s = replace(s, statement_timeout_ms=int(v))
        if (v := get("CONNECT_TIMEOUT_S")) is not None:
            s = replace(s, connect_timeout_s=int(v))
        if (v := get("SQLITE_BUSY_TIMEOUT_MS")) is not None:
            s = replace(s, sqlite_busy_timeout_ms=int(v))
        if (v := get("LOG_LEVEL")) is not None:
            s = replace(s, log_level=v.upper())
        if (v := get("CREDENTIAL_CACHE_TTL_S")) is not None:
            try:
                s = replace(s, credential_cache_ttl_s=float(v))
            except ValueError:
                raise SettingsError(
                    f"PREFIXGATE_CREDENTIAL_CACHE_TTL_S must be a number of seconds, not {v!r}"
                ) from None
        if (v := get("METRICS_ALLOW")) is not None:
            s = replace(s, metrics_allow=_networks("METRICS_ALLOW", v))
        if (v := get("DNS_SERVER")) is not None:
            try:
                s = replace(s, dns_server=parse_dns_server(v) if v.strip() else None)
            except ValueError as exc:
                raise SettingsError(f"PREFIXGATE_DNS_SERVER: {exc}") from None
        if (v := get("DNS_TIMEOUT_S")) is not None:
            s = replace(s, dns_timeout_s=_number("DNS_TIMEOUT_S", v, float, "a number of seconds"))
        if (v := get("VALIDATION_HTTP_PORT")) is not None:
            s = replace(s, validation_http_port=_number("VALIDATION_HTTP_PORT", v, int, "a port number"))
        if (v := get("REVALIDATE_INTERVAL_S")) is not None:
            s = replace(s, revalidate_interval_s=_number("REVALIDATE_INTERVAL_S", v, float, "a number of seconds"))
        if (v := get("SESSION_IDLE_S")) is not None:
            s = replace(s, session_idle_s=_number("SESSION_IDLE_S", v, float, "a number of seconds"))
        if (v := get("LOGIN_MAX_FAILURES")) is not None:
            s = replace(s, login_max_failures=_number("LOGIN_MAX_FAILURES", v, int, "a whole number"))
        if (v := get("LOGIN_WINDOW_S")) is not None:
            s = replace(s, login_window_s=_number("LOGIN_WINDOW_S", v, float, "a number of seconds"))
        if (v := get("LOGIN_COOLDOWN_S")) is not None:
            s = replace(s, login_cooldown_s=_number("LOGIN_COOLDOWN_S", v, float, "a number of seconds"))
        if (v := get("EDGE_FEED_KEEP")) is not None:
            s = replace(s, edge_feed_keep=_number("EDGE_FEED_KEEP", v, int, "a whole number of revisions"))
        if (v := get("EDGE_STALE_S")) is not None:
            s = replace(s, edge_stale_s=_number("EDGE_STALE_S", v, float, "a number of seconds"))
        s.check()
        return s

    def check(self) -> None:
        """Raises SettingsError for settings that would break a promise the docs make."""
        if not 0 <= self.credential_cache_ttl_s <= 1:
            raise SettingsError(
                f"PREFIXGATE_CREDENTIAL_CACHE_TTL_S must be between 0 and 1 second, not {self.credential_cache_ttl_s}"
            )
        if not 0 < self.dns_timeout_s <= 30:
            raise SettingsError(
                f"PREFIXGATE_DNS_TIMEOUT_S must be more than 0 and at most 30 seconds, not {self.dns_timeout_s}"
            )
        if not 1 <= self.validation_http_port <= 65535:
            raise SettingsError(
                f"PREFIXGATE_VALIDATION_HTTP_PORT must be from 1 to 65535, not {self.validation_http_port}"
            )
        if not (self.revalidate_interval_s == 0 or 0.1 <= self.revalidate_interval_s <= 86400):
            raise SettingsError(
                "PREFIXGATE_REVALIDATE_INTERVAL_S must be 0 (off) or 0.1 to 86400 seconds, "
                f"not {self.revalidate_interval_s}"
            )

        if not 60 <= self.session_idle_s <= 30 * 86400:
            raise SettingsError(f"PREFIXGATE_SESSION_IDLE_S must be 60 to 2592000 seconds, not {self.session_idle_s}")
        if not 1 <= self.login_max_failures <= 1000:
            raise SettingsError(f"PREFIXGATE_LOGIN_MAX_FAILURES must be 1 to 1000, not {self.login_max_failures}")
        for name, value in (("LOGIN_WINDOW_S", self.login_window_s), ("LOGIN_COOLDOWN_S", self.login_cooldown_s)):
            if not 1 <= value <= 86400:
                raise SettingsError(f"PREFIXGATE_{name} must be 1 to 86400 seconds, not {value}")
        if not 1 <= self.edge_feed_keep <= 100_000_000:
            raise SettingsError(
                f"PREFIXGATE_EDGE_FEED_KEEP must be 1 to 100000000 revisions, not {self.edge_feed_keep}"
            )
        if not 0 < self.edge_stale_s <= 86400:
            raise SettingsError(
                f"PREFIXGATE_EDGE_STALE_S must be more than 0 and at most 86400 seconds, not {self.edge_stale_s}"
            )

    def to_env(self) -> dict[str, str]:
        """These settings as PREFIXGATE_* variables: `from_env` of them gives these settings back.
        `serve` hands them to its worker processes, CLI overrides included."""
        values: dict[str, object] = {
            "DATABASE_URL": self.database_url,
            "ALLOW_NON_PUBLIC_PREFIXES": "1" if self.allow_non_public_prefixes else "0",
            "MAX_BODY_BYTES": self.max_body_bytes,
            "STATEMENT_TIMEOUT_MS": self.statement_timeout_ms,
            "CONNECT_TIMEOUT_S": self.connect_timeout_s,
            "SQLITE_BUSY_TIMEOUT_MS": self.sqlite_busy_timeout_ms,
            "LOG_LEVEL": self.log_level,
            "CREDENTIAL_CACHE_TTL_S": repr(self.credential_cache_ttl_s),
            "METRICS_ALLOW": ",".join(str(net) for net in self.metrics_allow),
            "DNS_SERVER": "" if self.dns_server is None else format_dns_server(self.dns_server),
            "DNS_TIMEOUT_S": repr(self.dns_timeout_s),
            "VALIDATION_HTTP_PORT": self.validation_http_port,
            "REVALIDATE_INTERVAL_S": repr(self.revalidate_interval_s),
            "SESSION_IDLE_S": repr(self.session_idle_s),
            "LOGIN_MAX_FAILURES": self.login_max_failures,
            "LOGIN_WINDOW_S": repr(self.login_window_s),
            "LOGIN_COOLDOWN_S": repr(self.login_cooldown_s),
            "EDGE_FEED_KEEP": self.edge_feed_keep,
            "EDGE_STALE_S": repr(self.edge_stale_s),
        }
        return {f"PREFIXGATE_{name}": str(value) for name, value in values.items()}

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields changed; `None` values are ignored (unset CLI flags)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]

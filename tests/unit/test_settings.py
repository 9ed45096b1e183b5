"""Settings from the environment and from CLI overrides (settings.py)."""

from __future__ import annotations

import dataclasses
from ipaddress import ip_network

import pytest

from prefixgate.settings import DEFAULT_DATABASE_URL, Settings, SettingsError


def test_an_empty_environment_gives_the_defaults() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert s.database_url == DEFAULT_DATABASE_URL == "sqlite:///./prefixgate.db"
    assert s.allow_non_public_prefixes is False
    assert s.max_body_bytes == 256 * 1024
    assert s.statement_timeout_ms == 15_000
    assert s.connect_timeout_s == 5
    assert s.log_level == "INFO"


def test_every_variable_is_read() -> None:
    s = Settings.from_env(
        {
            "PREFIXGATE_DATABASE_URL": "postgresql+psycopg://u@db/prefixgate",
            "PREFIXGATE_ALLOW_NON_PUBLIC_PREFIXES": "1",
            "PREFIXGATE_MAX_BODY_BYTES": "1024",
            "PREFIXGATE_STATEMENT_TIMEOUT_MS": "2500",
            "PREFIXGATE_CONNECT_TIMEOUT_S": "9",
            "PREFIXGATE_LOG_LEVEL": "debug",
        }
    )
    assert s == Settings(
        database_url="postgresql+psycopg://u@db/prefixgate",
        allow_non_public_prefixes=True,
        max_body_bytes=1024,
        statement_timeout_ms=2500,
        connect_timeout_s=9,
        log_level="DEBUG",
    )


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "on", "ON", " 1 ", "yes\n"])
def test_truthy_values_allow_non_public_prefixes(value: str) -> None:
    assert Settings.from_env({"PREFIXGATE_ALLOW_NON_PUBLIC_PREFIXES": value}).allow_non_public_prefixes is True


@pytest.mark.parametrize("value", ["0", "false", "no", "off", "", "2", "enabled", "y"])
def test_other_values_do_not(value: str) -> None:
    assert Settings.from_env({"PREFIXGATE_ALLOW_NON_PUBLIC_PREFIXES": value}).allow_non_public_prefixes is False


def test_unrelated_and_unprefixed_variables_are_ignored() -> None:
    s = Settings.from_env(
        {"DATABASE_URL": "sqlite:///other.db", "ALLOW_NON_PUBLIC_PREFIXES": "1", "prefixgate_log_level": "debug"}
    )
    assert s == Settings()


@pytest.mark.parametrize("name", ["MAX_BODY_BYTES", "STATEMENT_TIMEOUT_MS", "CONNECT_TIMEOUT_S"])
def test_non_integer_numbers_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        Settings.from_env({f"PREFIXGATE_{name}": "ten"})


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFIXGATE_DATABASE_URL", "sqlite:////tmp/x.db")
    monkeypatch.setenv("PREFIXGATE_ALLOW_NON_PUBLIC_PREFIXES", "yes")
    monkeypatch.delenv("PREFIXGATE_LOG_LEVEL", raising=False)
    s = Settings.from_env()
    assert s.database_url == "sqlite:////tmp/x.db"
    assert s.allow_non_public_prefixes is True
    assert s.log_level == "INFO"


def test_with_overrides_changes_given_fields_and_ignores_none() -> None:
    base = Settings.from_env({"PREFIXGATE_DATABASE_URL": "sqlite:///env.db", "PREFIXGATE_LOG_LEVEL": "WARNING"})
    s = base.with_overrides(database_url=None, allow_non_public_prefixes=True, log_level=None, max_body_bytes=10)
    assert s.database_url == "sqlite:///env.db"  # None: an unset CLI flag keeps the environment's value
    assert s.log_level == "WARNING"
    assert s.allow_non_public_prefixes is True
    assert s.max_body_bytes == 10
    assert base.allow_non_public_prefixes is False and base.max_body_bytes == 256 * 1024  # the original is untouched


def test_with_overrides_keeps_false_and_zero() -> None:
    # Only None means "not given": False and 0 are real values.
    s = Settings(allow_non_public_prefixes=True).with_overrides(allow_non_public_prefixes=False, connect_timeout_s=0)
    assert s.allow_non_public_prefixes is False
    assert s.connect_timeout_s == 0


def test_with_overrides_of_nothing_is_equal() -> None:
    s = Settings(database_url="sqlite:///a.db")
    assert s.with_overrides() == s
    assert s.with_overrides(database_url=None, log_level=None) == s


def test_with_overrides_refuses_unknown_fields() -> None:
    with pytest.raises(TypeError):
        Settings().with_overrides(no_such_setting=1)


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.database_url = "sqlite:///b.db"  # type: ignore[misc]


def test_the_credential_cache_lifetime_is_read_and_bounded() -> None:
    assert Settings().credential_cache_ttl_s == 0.5
    assert Settings.from_env({"PREFIXGATE_CREDENTIAL_CACHE_TTL_S": "0"}).credential_cache_ttl_s == 0
    assert Settings.from_env({"PREFIXGATE_CREDENTIAL_CACHE_TTL_S": "0.25"}).credential_cache_ttl_s == 0.25
    for bad in ("1.5", "-0.1"):
        with pytest.raises(ValueError, match="between 0 and 1 second"):
            Settings.from_env({"PREFIXGATE_CREDENTIAL_CACHE_TTL_S": bad})


def test_metrics_are_open_to_loopback_by_default() -> None:
    assert Settings.from_env({}).metrics_allow == (ip_network("127.0.0.0/8"), ip_network("::1/128"))


def test_metrics_allow_reads_comma_separated_cidrs() -> None:
    s = Settings.from_env({"PREFIXGATE_METRICS_ALLOW": " 10.20.0.0/16, 2001:db8:1::/48,192.0.2.7 ,"})
    assert s.metrics_allow == (ip_network("10.20.0.0/16"), ip_network("2001:db8:1::/48"), ip_network("192.0.2.7/32"))


def test_an_empty_metrics_allow_opens_metrics_to_nobody() -> None:
    assert Settings.from_env({"PREFIXGATE_METRICS_ALLOW": ""}).metrics_allow == ()


@pytest.mark.parametrize("bad", ["10.0.0.1/8", "10.0.0.0/33", "monitoring", "10.0.0.0/8;192.0.2.0/24", "::1/129"])
def test_a_bad_metrics_allow_is_refused_naming_the_value(bad: str) -> None:
    with pytest.raises(SettingsError, match="PREFIXGATE_METRICS_ALLOW") as err:
        Settings.from_env({"PREFIXGATE_METRICS_ALLOW": f"127.0.0.0/8,{bad}"})
    assert repr(bad) in str(err.value)
    assert isinstance(err.value, ValueError)


def test_custom_hostname_validation_defaults() -> None:
    s = Settings.from_env({})
    assert s.dns_server is None  # the system's resolver
    assert s.dns_timeout_s == 3.0
    assert s.validation_http_port == 80
    assert s.allow_non_global_http is False


@pytest.mark.parametrize(
    ("value", "server"),
    [("127.0.0.1:5353", ("127.0.0.1", 5353)), ("[::1]:53", ("::1", 53)), ("192.0.2.53", ("192.0.2.53", 53))],
)
def test_the_dns_server_is_read(value: str, server: tuple[str, int]) -> None:
    assert Settings.from_env({"PREFIXGATE_DNS_SERVER": value}).dns_server == server


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_dns_server_means_the_system_resolver(value: str) -> None:
    assert Settings.from_env({"PREFIXGATE_DNS_SERVER": value}).dns_server is None


@pytest.mark.parametrize("bad", ["resolver.local:53", "127.0.0.1:0", "::1", "127.0.0.1:dns"])
def test_a_bad_dns_server_is_refused_naming_the_variable_and_the_value(bad: str) -> None:
    with pytest.raises(SettingsError, match=r"^PREFIXGATE_DNS_SERVER: a DNS server is an IP address") as err:
        Settings.from_env({"PREFIXGATE_DNS_SERVER": bad})
    assert repr(bad) in str(err.value)


@pytest.mark.parametrize(("value", "seconds"), [("0.3", 0.3), ("30", 30.0), (" 5 ", 5.0), ("0.001", 0.001)])
def test_the_dns_timeout_is_read(value: str, seconds: float) -> None:
    assert Settings.from_env({"PREFIXGATE_DNS_TIMEOUT_S": value}).dns_timeout_s == seconds


@pytest.mark.parametrize("bad", ["0", "-1", "30.5", "nan", "inf"])
def test_a_dns_timeout_out_of_range_is_refused(bad: str) -> None:
    with pytest.raises(SettingsError, match="PREFIXGATE_DNS_TIMEOUT_S must be more than 0 and at most 30 seconds"):
        Settings.from_env({"PREFIXGATE_DNS_TIMEOUT_S": bad})


def test_a_dns_timeout_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(SettingsError, match="PREFIXGATE_DNS_TIMEOUT_S must be a number of seconds, not 'soon'"):
        Settings.from_env({"PREFIXGATE_DNS_TIMEOUT_S": "soon"})


def test_the_validation_http_port_is_read_and_bounded() -> None:
    assert Settings.from_env({"PREFIXGATE_VALIDATION_HTTP_PORT": "8080"}).validation_http_port == 8080
    for bad in ("0", "65536", "-80"):
        with pytest.raises(SettingsError, match=f"PREFIXGATE_VALIDATION_HTTP_PORT must be from 1 to 65535, not {bad}"):
            Settings.from_env({"PREFIXGATE_VALIDATION_HTTP_PORT": bad})
    with pytest.raises(SettingsError, match="PREFIXGATE_VALIDATION_HTTP_PORT must be a port number, not 'http'"):
        Settings.from_env({"PREFIXGATE_VALIDATION_HTTP_PORT": "http"})


def test_the_lab_setting_also_allows_http_checks_of_non_global_addresses() -> None:
    assert Settings(allow_non_public_prefixes=True).allow_non_global_http is True
    assert Settings.from_env({"PREFIXGATE_ALLOW_NON_PUBLIC_PREFIXES": "1"}).allow_non_global_http is True


def test_a_dns_server_override_from_the_cli() -> None:
    base = Settings.from_env({"PREFIXGATE_DNS_SERVER": "127.0.0.1:5353"})
    assert base.with_overrides(dns_server=None).dns_server == ("127.0.0.1", 5353)
    assert base.with_overrides(dns_server=("::1", 53)).dns_server == ("::1", 53)


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(
            database_url="postgresql+psycopg://u@db/prefixgate",
            allow_non_public_prefixes=True,
            max_body_bytes=1024,
            statement_timeout_ms=2500,
            connect_timeout_s=9,
            sqlite_busy_timeout_ms=123,
            log_level="DEBUG",
            credential_cache_ttl_s=0.1,
            metrics_allow=(),
            dns_server=("::1", 5353),
            dns_timeout_s=0.3,
            validation_http_port=8080,
        ),
        Settings(metrics_allow=(ip_network("10.0.0.0/8"),), dns_server=("127.0.0.1", 53), dns_timeout_s=1 / 3),
    ],
    ids=["defaults", "every-field-changed", "more"],
)
def test_to_env_gives_the_same_settings_back(settings: Settings) -> None:
    # The workers of `serve` read their settings from these variables.
    assert Settings.from_env(settings.to_env()) == settings


def test_to_env_covers_every_setting() -> None:
    # A new setting must be added to to_env(), or `serve --workers` would lose CLI overrides of it.
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert {name.removeprefix("PREFIXGATE_").lower() for name in Settings().to_env()} == fields


def test_dashboard_sign_in_defaults() -> None:
    s = Settings.from_env({})
    assert s.session_idle_s == 12 * 3600
    assert (s.login_max_failures, s.login_window_s, s.login_cooldown_s) == (5, 900, 300)


def test_the_dashboard_sign_in_variables_are_read() -> None:
    s = Settings.from_env(
        {
            "PREFIXGATE_SESSION_IDLE_S": "3600",
            "PREFIXGATE_LOGIN_MAX_FAILURES": " 10 ",
            "PREFIXGATE_LOGIN_WINDOW_S": "60.5",
            "PREFIXGATE_LOGIN_COOLDOWN_S": "1",
        }
    )
    assert (s.session_idle_s, s.login_max_failures, s.login_window_s, s.login_cooldown_s) == (3600, 10, 60.5, 1)
    assert Settings.from_env(s.to_env()) == s


@pytest.mark.parametrize(
    ("name", "good", "bad", "message"),
    [
        ("SESSION_IDLE_S", ["60", "2592000"], ["59.9", "2592001", "0", "-1", "nan", "inf"], "60 to 2592000 seconds"),
        ("LOGIN_MAX_FAILURES", ["1", "1000"], ["0", "1001", "-5"], "1 to 1000"),
        ("LOGIN_WINDOW_S", ["1", "86400"], ["0.5", "86401", "0", "nan", "inf"], "1 to 86400 seconds"),
        ("LOGIN_COOLDOWN_S", ["1", "86400"], ["0.99", "86401", "-1", "nan"], "1 to 86400 seconds"),
    ],
)
def test_the_dashboard_sign_in_settings_are_bounded(name: str, good: list[str], bad: list[str], message: str) -> None:
    for value in good:
        Settings.from_env({f"PREFIXGATE_{name}": value})
    for value in bad:
        with pytest.raises(SettingsError, match=f"^PREFIXGATE_{name} must be {message}, not "):
            Settings.from_env({f"PREFIXGATE_{name}": value})


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("SESSION_IDLE_S", "a number of seconds"),
        ("LOGIN_MAX_FAILURES", "a whole number"),
        ("LOGIN_WINDOW_S", "a number of seconds"),
        ("LOGIN_COOLDOWN_S", "a number of seconds"),
    ],
)
def test_dashboard_sign_in_settings_that_are_not_numbers_are_refused(name: str, what: str) -> None:
    bad = "2.5" if name == "LOGIN_MAX_FAILURES" else "soon"
    with pytest.raises(SettingsError, match=f"^PREFIXGATE_{name} must be {what}, not '{bad}'$"):
        Settings.from_env({f"PREFIXGATE_{name}": bad})


def test_edge_feed_defaults_and_variables() -> None:
    s = Settings.from_env({})
    assert (s.edge_feed_keep, s.edge_stale_s) == (100_000, 30.0)
    s = Settings.from_env({"PREFIXGATE_EDGE_FEED_KEEP": "500", "PREFIXGATE_EDGE_STALE_S": "2.5"})
    assert (s.edge_feed_keep, s.edge_stale_s) == (500, 2.5)
    assert Settings.from_env(s.to_env()) == s


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("EDGE_FEED_KEEP", "0", "must be 1 to 100000000 revisions, not 0"),
        ("EDGE_FEED_KEEP", "-5", "must be 1 to 100000000 revisions, not -5"),
        ("EDGE_FEED_KEEP", "1.5", "must be a whole number of revisions, not '1.5'"),
        ("EDGE_STALE_S", "0", "must be more than 0 and at most 86400 seconds, not 0.0"),
        ("EDGE_STALE_S", "86401", "must be more than 0 and at most 86400 seconds, not 86401.0"),
        ("EDGE_STALE_S", "nan", "must be more than 0 and at most 86400 seconds, not nan"),
        ("EDGE_STALE_S", "soon", "must be a number of seconds, not 'soon'"),
    ],
)
def test_edge_feed_settings_are_bounded(name: str, bad: str, message: str) -> None:
    with pytest.raises(SettingsError) as e:
        Settings.from_env({f"PREFIXGATE_{name}": bad})
    assert str(e.value) == f"PREFIXGATE_{name} {message}"

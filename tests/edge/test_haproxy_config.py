"""The generated configuration: HAProxy 2.6 accepts every variant; settings it cannot hold are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from prefixgate.edge.haproxy_config import ConfigError, HaproxySettings, check_config, render_config
from prefixgate.edge.haproxy_maps import write_map_files


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"master_worker": True, "nbthread": 2, "maxconn": 1000},
        {"listen_host": "::1", "origin_http_port": 8080, "origin_tls_port": 8443},
    ],
)
def test_haproxy_accepts_the_configuration(tmp_path: Path, options: dict[str, object]) -> None:
    s = HaproxySettings(tmp_path, listen_port=18443, **options)  # type: ignore[arg-type]
    write_map_files(s.maps_dir, {})
    s.config_path.write_text(render_config(s))
    check_config(s.config_path)


def test_the_configuration_names_its_maps_sockets_and_ports(tmp_path: Path) -> None:
    s = HaproxySettings(tmp_path, listen_host="::1", listen_port=18443, origin_http_port=8080)
    text = render_config(s)
    assert f"stats socket {tmp_path}/haproxy.sock mode 600 level admin expose-fd listeners" in text
    assert "bind [::1]:18443 accept-proxy" in text
    assert "\n    noreuseport\n" in text  # no second HAProxy beside a running one (test_haproxy_adoption.py)
    assert "http-request set-dst-port int(8080)" in text
    assert "tcp-request content set-dst-port int(443)" in text
    for name in ("spectrum_ip", "spectrum_port", "cdn_ip", "cdn_grant", "hostname"):
        assert f"{tmp_path}/maps/{name}.map" in text


def test_haproxy_refusing_a_configuration_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.cfg"
    path.write_text("frontend x\n    bind 127.0.0.1:1 nonsense-keyword\n")
    with pytest.raises(ConfigError, match="nonsense-keyword"):
        check_config(path)


@pytest.mark.parametrize(
    "options",
    [{"state_dir": Path("/tmp/with space")}, {"listen_port": 0}, {"origin_tls_port": 70000}, {"listen_host": "edge"}],
)
def test_settings_the_configuration_cannot_hold_are_refused(tmp_path: Path, options: dict[str, object]) -> None:
    s = HaproxySettings(**({"state_dir": tmp_path} | options))  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        render_config(s)

"""`prefixgate serve --dns-server HOST:PORT` and the PREFIXGATE_DNS_* settings, through the real executable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prefixgate.settings import Settings
from tests.procserver import ProcServer
from tests.support import free_port

EXE = Path(sys.executable).with_name("prefixgate")


def serve(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`prefixgate serve` that must exit at once (a refused setting); it never gets to listen."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREFIXGATE_")}
    cmd = [str(EXE), "serve", "--port", str(free_port()), "--database-url", f"sqlite:///{cwd}/x.db", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env={**clean, **(env or {})}, timeout=60)


def flat(text: str) -> str:
    """The error text without the rich box typer draws around it, on one line."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("dns.example:53", "'dns.example' in 'dns.example:53' is not an IP address"),
        ("127.0.0.1:0", "the port in '127.0.0.1:0' must be a number from 1 to 65535"),
        ("::1", "write an IPv6 address in brackets"),
        ("", "is empty"),
    ],
)
def test_a_bad_dns_server_option_is_a_usage_error(tmp_path: Path, value: str, why: str) -> None:
    out = serve("--dns-server", value, cwd=tmp_path)
    assert out.returncode == 2, out
    assert "Invalid value for '--dns-server'" in flat(out.stderr)
    assert why in flat(out.stderr)
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DNS_SERVER", "resolver.local", "PREFIXGATE_DNS_SERVER: a DNS server is an IP address"),
        ("DNS_TIMEOUT_S", "0", "PREFIXGATE_DNS_TIMEOUT_S must be more than 0 and at most 30 seconds, not 0.0"),
        ("DNS_TIMEOUT_S", "soon", "PREFIXGATE_DNS_TIMEOUT_S must be a number of seconds, not 'soon'"),
        ("VALIDATION_HTTP_PORT", "http", "PREFIXGATE_VALIDATION_HTTP_PORT must be a port number, not 'http'"),
    ],
)
def test_a_bad_dns_variable_stops_serve(tmp_path: Path, name: str, value: str, message: str) -> None:
    out = serve(cwd=tmp_path, env={f"PREFIXGATE_{name}": value})
    assert out.returncode == 2, out
    assert out.stderr.startswith(f"prefixgate: {message}")


def worker_environments(pid: int) -> list[dict[str, str]]:
    """The environments of `pid`'s child processes (uvicorn's workers), as their /proc entries show them."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            raw = (entry / "environ").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        pairs = (item.decode().partition("=") for item in raw.split(b"\0") if item)
        found.append({k: v for k, _, v in pairs})
    return found


def test_the_option_reaches_every_worker_over_the_environment(tmp_path: Path) -> None:
    server = ProcServer(
        f"sqlite:///{tmp_path}/w.db",
        tmp_path,
        workers=2,
        env={"PREFIXGATE_DNS_SERVER": "127.0.0.1:9", "PREFIXGATE_DNS_TIMEOUT_S": "1.5"},
        args=["--dns-server", "[::1]:5353"],
    ).start()
    try:
        assert server.proc is not None
        workers = [e for e in worker_environments(server.proc.pid) if "PREFIXGATE_DATABASE_URL" in e]
        assert workers, "no worker processes found"
        for environment in workers:
            settings = Settings.from_env(environment)
            assert settings.dns_server == ("::1", 5353)  # the option wins over the variable
            assert settings.dns_timeout_s == 1.5  # and the other variables are kept
    finally:
        server.stop()

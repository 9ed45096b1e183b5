"""The `prefixgate` command: serve, migrate, admin (a stable JSON contract for automation), demo."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from .adapters.db.engine import make_engine
from .adapters.db.migrate import upgrade
from .adapters.dns import parse_dns_server
from .bootstrap import SchemaNotCurrent, open_database
from .demo import load_demo
from .domain.errors import DomainError
from .metrics import MULTIPROC_ENV
from .service import edge, edge_feed, identity, prefixes, sessions, tokens
from .service.context import Actor, rfc3339
from .service.feed_records import edge_token_record
from .service.records import account_record, member_record, prefix_record, resolution_record, token_record
from .settings import Settings, SettingsError

app = typer.Typer(help="prefixgate: a control plane for BYOIP address space.", no_args_is_help=True)
admin = typer.Typer(help="Administration for operators and automation. Each command prints one JSON object.")
app.add_typer(admin, name="admin")

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Default: $PREFIXGATE_DATABASE_URL or sqlite:///./prefixgate.db")
]


def _settings(database_url: str | None, **extra: object) -> Settings:
    try:
        return Settings.from_env().with_overrides(database_url=database_url, **extra)
    except SettingsError as exc:
        print(f"prefixgate: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None


@contextmanager
def _metrics_directory(workers: int) -> Iterator[None]:
    """With several workers, point prometheus_client's multiprocess mode at a fresh private directory
    (replacing any inherited one) for the workers to share, and remove it when serving ends."""
    if workers == 1:
        yield
        return
    previous = os.environ.get(MULTIPROC_ENV)
    directory = tempfile.mkdtemp(prefix="prefixgate-metrics-")  # empty, mode 0700
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(directory, ignore_errors=True)


def _emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, sort_keys=True))


def _run(fn: Callable[[], dict[str, Any]]) -> None:
    """Run one admin action; refusals become a JSON error on stderr and exit status 1."""
    try:
        _emit(fn())
    except DomainError as exc:
        print(json.dumps({"error": {"code": int(exc.code), "message": exc.message}}), file=sys.stderr)
        raise typer.Exit(1) from None
    except SchemaNotCurrent as exc:
        print(json.dumps({"error": {"code": 10503, "message": str(exc)}}), file=sys.stderr)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    database_url: DatabaseUrl = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (use PostgreSQL for more than one)")] = 1,
    allow_non_public_prefixes: Annotated[
        bool | None, typer.Option("--allow-non-public-prefixes", help="Lab setting: accept non-public prefixes")
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load the docs' example data first")] = False,
    dns_server: Annotated[
        str | None,
        typer.Option(
            "--dns-server",
            metavar="HOST:PORT",
            help="DNS server for custom-hostname validation, such as 127.0.0.1:5353 or [::1]:53 "
            "(default: $PREFIXGATE_DNS_SERVER, or the nameservers of /etc/resolv.conf)",
        ),
    ] = None,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    from .api.serving import UVICORN_OPTIONS

    try:
        server = None if dns_server is None else parse_dns_server(dns_server)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--dns-server'") from None
    settings = _settings(database_url, allow_non_public_prefixes=allow_non_public_prefixes, dns_server=server)
    try:
        db = open_database(settings)
    except SchemaNotCurrent as exc:
        print(f"prefixgate: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    if demo:
        print(load_demo(db, base_url=f"http://{host}:{port}/client/v4"), flush=True)
    db.dispose()
    os.environ.update(settings.to_env())  # the workers read their settings, CLI overrides included, from here
    with _metrics_directory(workers):
        uvicorn.run(
            "prefixgate.api.asgi:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            **UVICORN_OPTIONS,  # type: ignore[arg-type]
        )


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Apply pending schema migrations."""
    settings = _settings(database_url)
    engine = make_engine(settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    _emit({"migrated": True})


@app.command("demo")
def demo_command(database_url: DatabaseUrl = None) -> None:
    """Load the docs' example (Account A owns 1.2.3.0/24, Account B, one user in both)."""
    db = open_database(_settings(database_url))
    print(load_demo(db, base_url="http://127.0.0.1:8080/client/v4"))


@app.command()
def resolve(
    ip: Annotated[str, typer.Option(help="Edge address")],
    port: Annotated[int, typer.Option(min=1, max=65535)],
    protocol: Annotated[str, typer.Option(help="tcp or udp")] = "tcp",
    sni: Annotated[str | None, typer.Option(help="TLS SNI or HTTP Host, for custom hostnames")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Which app or custom hostname, zone and account receive a connection to that address, or exactly why none does."""

    def act() -> dict[str, Any]:
        resolution = edge.resolve(open_database(_settings(database_url)), Actor.cli(), ip, protocol, port, sni=sni)
        return resolution_record(resolution)

    _run(act)


@admin.command("create-user")
def create_user(
    email: Annotated[str, typer.Option()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read a password from stdin")] = False,
    operator: Annotated[bool, typer.Option("--operator", help="The user runs the service")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user → {"id", "email", "api_key", ...}; api_key is the global key for X-Auth-Key."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None

    def act() -> dict[str, Any]:
        db = open_database(_settings(database_url))
        user, key = identity.create_user(db, Actor.cli(), email, password=password, operator=operator)
        return {
            "id": user.id,
            "email": user.email,
            "api_key": key,
            "operator": user.is_operator,
            "created_on": rfc3339(user.created_at),
        }

    _run(act)


@admin.command("set-password")
def set_password(
    email: Annotated[str, typer.Option()],
    database_url: DatabaseUrl = None,
) -> None:
    """Give a user a dashboard password, read from stdin (8 characters or more); ends their sessions."""
    password = sys.stdin.readline().rstrip("\n")

    def act() -> dict[str, Any]:
        sessions.set_password(open_database(_settings(database_url)), Actor.cli(), email, password)
        return {"email": email.strip().lower(), "password_set": True}

    _run(act)


@admin.command("create-account")
def create_account(
    name: Annotated[str, typer.Option()],
    owner_email: Annotated[str | None, typer.Option(help="Joins as Administrator")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an account → {"id", "name", ...}."""
    _run(
        lambda: account_record(
            identity.create_account(open_database(_settings(database_url)), Actor.cli(), name, owner_email=owner_email)
        )
    )


@admin.command("add-member")
def add_member(
    account_id: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="A role name as GET /accounts/{id}/roles lists it")] = "Administrator",
    database_url: DatabaseUrl = None,
) -> None:
    """Add a user to an account → the member."""
    _run(
        lambda: member_record(
            identity.add_member(open_database(_settings(database_url)), Actor.cli(), account_id, email, [role])
        )
    )


@admin.command("create-token")
def create_token(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()] = "cli",
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API token for a user → {"id", "value", ...}."""

    def act() -> dict[str, Any]:
        db = open_database(_settings(database_url))
        with db.read() as uow:
            user = uow.users.by_email(email.strip().lower())
        if user is None:
            raise identity.unknown_user(email)
        token, value = tokens.create_token(db, Actor.cli(), name, user=user)
        return {**token_record(token), "value": value}

    _run(act)


@admin.command("create-edge-token")
def create_edge_token(
    name: Annotated[str, typer.Option(help="Which edge (or fleet of edges) uses it")],
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token for edges → {"id", "name", "value", ...}; it reads the change feed and reports, nothing else."""

    def act() -> dict[str, Any]:
        token, value = edge_feed.create_edge_token(open_database(_settings(database_url)), Actor.cli(), name)
        return {**edge_token_record(token), "value": value}

    _run(act)


@admin.command("approve-prefix")
def approve_prefix(prefix_id: Annotated[str, typer.Option()], database_url: DatabaseUrl = None) -> None:
    """Approve a prefix ("V") → the prefix."""
    _run(lambda: prefix_record(prefixes.approve_prefix(open_database(_settings(database_url)), Actor.cli(), prefix_id)))


def _host_port(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise typer.BadParameter(f"{text!r} must be HOST:PORT, such as 127.0.0.1:8443", param_hint=option)
    return host, int(port)


@app.command("edge")
def edge_command(
    control_plane: Annotated[
        str,
        typer.Option("--control-plane", help="The address `prefixgate serve` listens on, e.g. http://127.0.0.1:8080"),
    ],
    token: Annotated[str, typer.Option("--token", help="An edge token (prefixgate admin create-edge-token)")],
    listen: Annotated[
        str, typer.Option("--listen", metavar="HOST:PORT", help="Where connections arrive, each with a PROXY v2 header")
    ],
    haproxy: Annotated[str, typer.Option("--haproxy", help="The HAProxy executable")] = "/usr/sbin/haproxy",
    state_dir: Annotated[
        str, typer.Option("--state-dir", help="Keeps the last table, HAProxy's configuration and maps")
    ] = "./prefixgate-edge",
    metrics: Annotated[
        str | None, typer.Option("--metrics", metavar="HOST:PORT", help="Serve Prometheus metrics here")
    ] = None,
    dns_server: Annotated[
        str | None,
        typer.Option(
            "--dns-server",
            metavar="HOST:PORT",
            help="Resolves origin names (default: the nameservers of /etc/resolv.conf)",
        ),
    ] = None,
    origin_http_port: Annotated[
        int,
        typer.Option("--origin-http-port", min=1, max=65535, help="Lab setting: custom hostnames' HTTP origin port"),
    ] = 80,
    origin_tls_port: Annotated[
        int, typer.Option("--origin-tls-port", min=1, max=65535, help="Lab setting: custom hostnames' TLS origin port")
    ] = 443,
    node: Annotated[str | None, typer.Option("--node", help="This edge's name (default: host name and port)")] = None,
) -> None:
    """Run an edge: HAProxy on --listen, programmed live from the control plane's change feed.

    SIGTERM or SIGINT stops the agent and HAProxy; SIGUSR1 stops only the agent (HAProxy serves on, and
    the next agent on the same --state-dir adopts it).
    """
    from pathlib import Path

    from .adapters.dns.inspector import SYSTEM_RESOLV_CONF
    from .adapters.dns.lookup import system_nameservers
    from .edge.run import EdgeOptions, run_edge
    from .logs import configure_logging

    try:
        servers = (parse_dns_server(dns_server),) if dns_server else tuple(system_nameservers(SYSTEM_RESOLV_CONF))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--dns-server'") from None
    if not control_plane.startswith(("http://", "https://")):
        raise typer.BadParameter("must start with http:// or https://", param_hint="'--control-plane'")
    configure_logging()
    run_edge(
        EdgeOptions(
            control_plane=control_plane,
            token=token,
            listen=_host_port(listen, "'--listen'"),
            haproxy_bin=haproxy,
            state_dir=Path(state_dir).resolve(),
            metrics=_host_port(metrics, "'--metrics'") if metrics else None,
            dns_servers=servers,
            origin_http_port=origin_http_port,
            origin_tls_port=origin_tls_port,
            node=node,
        )
    )


def main() -> None:
    app()

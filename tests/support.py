"""Test support: databases on both engines, a real uvicorn server on a free loopback port,
and a "world" of users, accounts and tokens made through the service layer."""

from __future__ import annotations

import dataclasses
import itertools
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from prefixgate.adapters.db.engine import make_engine
from prefixgate.adapters.db.migrate import upgrade
from prefixgate.adapters.db.uow import SqlDatabase
from prefixgate.api.app import create_app
from prefixgate.service import identity, prefixes, tokens
from prefixgate.service.context import Actor
from prefixgate.settings import Settings

PG_ENV = "PREFIXGATE_TEST_DATABASE_URL"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def engines() -> list[str]:
    """SQLite always; PostgreSQL when PREFIXGATE_TEST_DATABASE_URL is set."""
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


@contextmanager
def fresh_database_url(engine: str, tmp_dir: str) -> Iterator[str]:
    """A brand-new, empty database on `engine`, dropped afterwards (PostgreSQL)."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_dir}/prefixgate-{secrets.token_hex(4)}.db"
        return
    base = make_url(os.environ[PG_ENV])
    name = f"pgtest_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:  # fails loudly when PostgreSQL is unreachable: never a silent skip
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated_database(url: str, settings: Settings | None = None) -> SqlDatabase:
    """A migrated database at `url`, its engine built with the timeouts of `settings` (default: the defaults)."""
    s = settings or Settings(database_url=url)
    engine = make_engine(
        url,
        statement_timeout_ms=s.statement_timeout_ms,
        connect_timeout_s=s.connect_timeout_s,
        sqlite_busy_timeout_ms=s.sqlite_busy_timeout_ms,
    )
    upgrade(engine)
    return SqlDatabase(engine, edge_feed_keep=s.edge_feed_keep)


class Server:
    """A real uvicorn server in a background thread, on 127.0.0.1 and a free port."""

    def __init__(self, settings: Settings) -> None:
        if settings.dns_server is None:
            # Tests never ask the system's resolver: lookups go to a loopback port nothing answers on.
            settings = dataclasses.replace(settings, dns_server=("127.0.0.1", 9), dns_timeout_s=0.2)
        if settings.revalidate_interval_s == Settings().revalidate_interval_s:
            # No background re-validation in the test process unless a test asks for it with an interval of
            # its own: its database reads would move the process-wide pool gauges other tests measure.
            settings = dataclasses.replace(settings, revalidate_interval_s=0)
        self.settings = settings
        self.db = migrated_database(settings.database_url, settings)
        self.app = create_app(settings, self.db)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.base}/client/v4"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> Server:
        self._thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("test server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.db.dispose()


_counter = itertools.count(1)


def unique_v4_prefix() -> str:
    """A public IPv4 /24 no other test in this session uses (from 5.0.0.0/8 and up)."""
    n = next(_counter)
    return f"{5 + n // 65536}.{(n // 256) % 256}.{n % 256}.0/24"


def unique_v6_prefix() -> str:
    """A public IPv6 /48 no other test in this session uses (from 2a0f::/16)."""
    n = next(_counter)
    return f"2a0f:{n // 65536:x}:{n % 65536:x}::/48"


@dataclass
class Member:
    email: str
    user_id: str
    token: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """Three unrelated tenants plus a read-only member of A and an operator.

    alice: Administrator of A.  bob: Administrator of B.  eve: Administrator of C.
    reader: "IP Prefixes: Read" in A.  writer: "IP Prefixes: Write" in A.  operator: runs the service.
    """

    server: Server
    a: str
    b: str
    c: str
    alice: Member
    bob: Member
    eve: Member
    reader: Member
    writer: Member
    operator: Member
    clients: dict[str, httpx.Client] = field(default_factory=dict)

    def client(self, who: Member) -> httpx.Client:
        if who.email not in self.clients:
            self.clients[who.email] = httpx.Client(base_url=self.server.api, headers=who.headers, timeout=30)
        return self.clients[who.email]

    def approve(self, prefix_id: str) -> None:
        prefixes.approve_prefix(self.server.db, Actor.cli(), prefix_id)

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


def make_member(db: SqlDatabase, label: str, *, operator: bool = False) -> Member:
    email = f"{label}-{secrets.token_hex(4)}@example.com"
    user, key = identity.create_user(db, Actor.cli(), email, password=None, operator=operator)
    _, value = tokens.create_token(db, Actor.cli(), "test", user=user)
    return Member(email=email, user_id=user.id, token=value, api_key=key)


def make_world(server: Server) -> World:
    db, cli = server.db, Actor.cli()
    alice, bob, eve = (make_member(db, n) for n in ("alice", "bob", "eve"))
    reader, writer = make_member(db, "reader"), make_member(db, "writer")
    operator = make_member(db, "operator", operator=True)
    a = identity.create_account(db, cli, "Account A", owner_email=alice.email).id
    b = identity.create_account(db, cli, "Account B", owner_email=bob.email).id
    c = identity.create_account(db, cli, "Account C", owner_email=eve.email).id
    identity.add_member(db, cli, a, reader.email, ["IP Prefixes: Read"])
    identity.add_member(db, cli, a, writer.email, ["IP Prefixes: Write"])
    return World(server, a, b, c, alice, bob, eve, reader, writer, operator)

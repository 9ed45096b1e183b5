"""The admin command-line contract, through the installed `prefixgate` executable in subprocesses.

Each command prints one JSON object on stdout; a refusal exits non-zero with a JSON error on stderr.
Every test uses its own fresh database, so the docs' 1.2.3.0/24 may appear here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from prefixgate.adapters.db.engine import make_engine
from prefixgate.adapters.db.tables import accounts, memberships, users
from prefixgate.service.credentials import verify_password
from prefixgate.settings import Settings
from tests.support import Server, free_port, fresh_database_url

EXE = Path(sys.executable).with_name("prefixgate")  # the console script installed beside this Python
REPO = Path(__file__).resolve().parents[2]
SHARED_SMOKE = REPO.parent / "shared" / "conformance" / "sdk_smoke.py"
READ_ROLE = "IP Prefixes: Read"


def run(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFIXGATE_")}
    return subprocess.run(
        [str(EXE), *args], input=stdin, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False
    )


@dataclass
class Cli:
    url: str
    cwd: Path

    def ok(self, *args: str, stdin: str | None = None) -> dict[str, Any]:
        out = run(*args, "--database-url", self.url, cwd=self.cwd, stdin=stdin)
        assert out.returncode == 0, out.stderr
        result: dict[str, Any] = json.loads(out.stdout)  # exactly one JSON object, nothing else
        assert isinstance(result, dict)
        return result

    def refused(self, *args: str) -> dict[str, Any]:
        out = run(*args, "--database-url", self.url, cwd=self.cwd)
        assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
        assert out.stdout == ""
        error: dict[str, Any] = json.loads(out.stderr)["error"]
        assert set(error) == {"code", "message"}
        assert isinstance(error["code"], int)
        assert error["message"]
        return error

    def admin(self, *args: str, stdin: str | None = None) -> dict[str, Any]:
        return self.ok("admin", *args, stdin=stdin)

    def user(self, email: str, *flags: str) -> dict[str, Any]:
        return self.admin("create-user", "--email", email, *flags)


@pytest.fixture
def cli(engine_name: str, tmp_path: Path) -> Iterator[Cli]:
    """A fresh database on the session's engine, migrated through `prefixgate migrate`."""
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        c = Cli(url, tmp_path)
        assert c.ok("migrate") == {"migrated": True}
        yield c


def test_console_script_is_installed() -> None:
    assert EXE.exists(), f"{EXE} is missing: install the project (pip install -e .)"
    out = run("--help", cwd=REPO)
    assert out.returncode == 0
    for command in ("serve", "migrate", "admin"):
        assert command in out.stdout


def test_migrate_is_idempotent_and_prints_json(cli: Cli) -> None:
    assert cli.ok("migrate") == {"migrated": True}
    assert cli.user("after-migrate@example.com")["email"] == "after-migrate@example.com"


def test_create_user_prints_id_email_api_key(cli: Cli) -> None:
    op = cli.admin("create-user", "--email", "Root@Example.COM", "--operator", "--password-stdin", stdin="s3cret pw\n")
    assert {"id", "email", "api_key", "operator", "created_on"} <= set(op)
    assert (op["email"], op["operator"]) == ("root@example.com", True)
    assert len(op["id"]) == 32
    assert len(op["api_key"]) == 37
    plain = cli.user("plain@example.com")
    assert plain["operator"] is False
    assert plain["api_key"] != op["api_key"]

    # The password is stored as an argon2 hash, never echoed; a user made without one has none.
    engine = make_engine(cli.url)
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(select(users.c.email, users.c.password_hash)).all())
    finally:
        engine.dispose()
    assert verify_password("s3cret pw", stored["root@example.com"])
    assert not verify_password("wrong", stored["root@example.com"])
    assert stored["plain@example.com"] is None

    # The global API key works over HTTP, with X-Auth-Email and X-Auth-Key.
    server = Server(Settings(database_url=cli.url)).start()
    try:
        r = httpx.get(f"{server.api}/user", headers={"X-Auth-Email": op["email"], "X-Auth-Key": op["api_key"]})
        assert r.status_code == 200, r.text
        assert (r.json()["result"]["id"], r.json()["result"]["operator"]) == (op["id"], True)
    finally:
        server.stop()


def test_accounts_members_tokens_and_approval(cli: Cli) -> None:
    alice, reader = cli.user("alice@example.com"), cli.user("reader@example.com")
    acct = cli.admin("create-account", "--name", "Account A", "--owner-email", "alice@example.com")
    assert {"id", "name", "type", "created_on"} <= set(acct)
    assert acct["name"] == "Account A"
    member = cli.admin("add-member", "--account-id", acct["id"], "--email", "reader@example.com", "--role", READ_ROLE)
    assert (member["email"], member["user"]["id"]) == ("reader@example.com", reader["id"])
    assert [r["name"] for r in member["roles"]] == [READ_ROLE]
    token = cli.admin("create-token", "--email", "alice@example.com", "--name", "ops")
    assert {"id", "value", "name", "status"} <= set(token)
    assert (token["name"], token["status"]) == ("ops", "active")
    reader_token = cli.admin("create-token", "--email", "reader@example.com")["value"]

    server = Server(Settings(database_url=cli.url)).start()
    try:
        a = httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {token['value']}"})
        r = httpx.Client(base_url=server.api, headers={"Authorization": f"Bearer {reader_token}"})
        with a, r:
            assert [x["id"] for x in a.get("/accounts").json()["result"]] == [acct["id"]]
            assert a.get("/user/tokens/verify").json()["result"]["id"] == token["id"]
            members = a.get(f"/accounts/{acct['id']}/members").json()["result"]
            assert {m["email"] for m in members} == {alice["email"], reader["email"]}
            created = a.post(f"/accounts/{acct['id']}/addressing/prefixes", json={"cidr": "1.2.3.0/24", "asn": 13335})
            assert created.status_code == 201, created.text
            prefix = created.json()["result"]
            assert prefix["approved"] == "P"

            approved = cli.admin("approve-prefix", "--prefix-id", prefix["id"])
            assert (approved["id"], approved["cidr"], approved["approved"]) == (prefix["id"], "1.2.3.0/24", "V")
            url = f"/accounts/{acct['id']}/addressing/prefixes/{prefix['id']}"
            assert r.get(url).json()["result"]["approved"] == "V"  # the reader may read...
            assert r.patch(url, json={"description": "x"}).status_code == 403  # ...but not write
            log = a.get(f"/accounts/{acct['id']}/audit_logs", params={"direction": "asc"}).json()["result"]
            cli_events = [(e["action"]["type"], e["actor"]["type"]) for e in log if e["interface"] == "CLI"]
            assert cli_events == [
                ("member.created", "admin"),
                ("member.created", "admin"),
                ("prefix.approved", "admin"),
            ]
    finally:
        server.stop()


def test_refusals_exit_nonzero_with_json_on_stderr(cli: Cli) -> None:
    cli.user("alice@example.com")
    acct = cli.admin("create-account", "--name", "A", "--owner-email", "alice@example.com")
    member = ("admin", "add-member", "--account-id", acct["id"], "--email")
    refusals: list[tuple[tuple[str, ...], int]] = [
        (("admin", "create-user", "--email", "ALICE@example.com"), 1004),
        (("admin", "create-user", "--email", "not-an-email"), 1001),
        (("admin", "create-account", "--name", "B", "--owner-email", "ghost@example.com"), 1301),
        (("admin", "create-account", "--name", "   "), 1001),
        ((*member, "alice@example.com", "--role", "Janitor"), 1302),
        ((*member, "alice@example.com", "--role", READ_ROLE), 1300),
        ((*member, "ghost@example.com", "--role", READ_ROLE), 1301),
        (("admin", "add-member", "--account-id", "0" * 32, "--email", "alice@example.com"), 1003),
        (("admin", "create-token", "--email", "ghost@example.com"), 1301),
        (("admin", "approve-prefix", "--prefix-id", "0" * 32), 1003),
    ]
    with ThreadPoolExecutor(max_workers=5) as pool:  # independent processes; a cold start each is slow
        errors = list(pool.map(lambda r: cli.refused(*r[0]), refusals))
    assert [e["code"] for e in errors] == [code for _, code in refusals], errors

    # Nothing was stored: still one user, one account, one membership.
    engine = make_engine(cli.url)
    try:
        with engine.connect() as conn:
            counts = [
                conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (users, accounts, memberships)
            ]
    finally:
        engine.dispose()
    assert counts == [1, 1, 1]
    # A usage error is typer's, not a JSON contract, but it is still a failure.
    usage = run("admin", "create-user", cwd=cli.cwd)
    assert usage.returncode == 2
    assert "--email" in usage.stderr


def test_postgresql_must_be_migrated_first(engine_name: str, tmp_path: Path) -> None:
    """SQLite migrates itself on first use; PostgreSQL waits for `prefixgate migrate`."""
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        c = Cli(url, tmp_path)
        if engine_name == "sqlite":
            assert c.user("first@example.com")["email"] == "first@example.com"
            return
        out = run("admin", "create-user", "--email", "first@example.com", "--database-url", url, cwd=tmp_path)
        assert out.returncode == 2
        error = json.loads(out.stderr)["error"]
        assert error["code"] == 10503
        assert "prefixgate migrate" in error["message"]
        assert c.ok("migrate") == {"migrated": True}
        assert c.user("first@example.com")["email"] == "first@example.com"


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited {proc.returncode}: {log.read_text()[-1500:]}"
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"server not healthy after {timeout}s: {log.read_text()[-1500:]}")


def test_serve_demo(tmp_path: Path) -> None:
    """`serve --demo` on a fresh SQLite file: the docs' example, reachable with the printed token."""
    port, log = free_port(), tmp_path / "serve.log"
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    cmd = [str(EXE), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port), "--database-url", url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFIXGATE_")}
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc, log)
        assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
        printed = log.read_text()
        [token] = [line.split(":", 1)[1].strip() for line in printed.splitlines() if "API token:" in line]
        with httpx.Client(base_url=f"{base}/client/v4", headers={"Authorization": f"Bearer {token}"}) as c:
            accounts = {a["name"]: a["id"] for a in c.get("/accounts").json()["result"]}
            assert set(accounts) == {"Account A", "Account B"}
            for name, aid in accounts.items():
                assert f"id={aid}" in printed, name
            listed = c.get(f"/accounts/{accounts['Account A']}/addressing/prefixes").json()["result"]
            assert [(p["cidr"], p["approved"]) for p in listed] == [("1.2.3.0/24", "V")]
            assert c.get(f"/accounts/{accounts['Account B']}/addressing/prefixes").json()["result"] == []
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal, so the status reports it.
    assert proc.returncode in (0, -signal.SIGTERM), log.read_text()[-1500:]


def test_shared_conformance_scenario(engine_name: str, tmp_path: Path) -> None:
    """../shared/conformance/sdk_smoke.py, the scenario CI runs, passes against this checkout."""
    if not SHARED_SMOKE.exists():
        pytest.skip(f"shared conformance folder not present at {SHARED_SMOKE.parent}")
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        args = [sys.executable, str(SHARED_SMOKE), "--prefixgate", str(EXE)]
        if engine_name == "postgresql":
            assert Cli(url, tmp_path).ok("migrate") == {"migrated": True}
            args += ["--database-url", url]
        out = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=600, check=False)
    lines = out.stdout.strip().splitlines()
    assert lines, out.stderr[-2000:]
    assert lines[-1].endswith(" 0 failed"), out.stdout[-3000:] + out.stderr[-2000:]
    assert out.returncode == 0

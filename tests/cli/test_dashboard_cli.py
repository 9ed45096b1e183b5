"""Dashboard passwords from the command line: `prefixgate admin set-password`, `create-user
--password-stdin`, and the password `prefixgate demo` and `serve --demo` print, each signing in
to a real server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from prefixgate.settings import Settings
from tests.cli.test_cli import Cli, run
from tests.procserver import ProcServer
from tests.support import Server, fresh_database_url
from tests.web.helpers import WebClient

_DASHBOARD_LINE = re.compile(r"dashboard:\s+(\S+)\s+\(email (\S+), password (\S+)\)")


@pytest.fixture
def cli(engine_name: str, tmp_path: Path) -> Iterator[Cli]:
    with fresh_database_url(engine_name, str(tmp_path)) as url:
        c = Cli(url, tmp_path)
        assert c.ok("migrate") == {"migrated": True}
        yield c


def refused(cli: Cli, *args: str, stdin: str) -> dict[str, object]:
    out = run(*args, "--database-url", cli.url, cwd=cli.cwd, stdin=stdin)
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
    assert out.stdout == ""
    error: dict[str, object] = json.loads(out.stderr)["error"]
    return error


def signs_in(url: str, email: str, password: str) -> bool:
    """Whether `email` and `password` open a session on a server over this database."""
    server = Server(Settings(database_url=url)).start()
    try:
        with WebClient(server) as web:
            r = web.try_login(email, password)
            return r.status_code == 303 and web.session is not None
    finally:
        server.stop()


def test_set_password_gives_a_password_that_signs_in(cli: Cli) -> None:
    cli.user("Dana@Example.com")
    assert cli.admin("set-password", "--email", "Dana@Example.com", stdin="correct horse battery\n") == {
        "email": "dana@example.com",
        "password_set": True,
    }
    assert signs_in(cli.url, "dana@example.com", "correct horse battery")
    assert not signs_in(cli.url, "dana@example.com", "correct horse")


def test_set_password_refuses_a_short_password_and_keeps_the_old_one(cli: Cli) -> None:
    cli.user("erin@example.com")
    cli.admin("set-password", "--email", "erin@example.com", stdin="the first password\n")
    error = refused(cli, "admin", "set-password", "--email", "erin@example.com", stdin="short\n")
    assert error == {"code": 1001, "message": "a password has 8 to 1024 characters"}
    error = refused(cli, "admin", "set-password", "--email", "erin@example.com", stdin="\n")
    assert error["message"] == "a password has 8 to 1024 characters"
    assert signs_in(cli.url, "erin@example.com", "the first password")


def test_set_password_of_an_unknown_user_is_refused(cli: Cli) -> None:
    error = refused(cli, "admin", "set-password", "--email", "ghost@example.com", stdin="long enough pw\n")
    assert error["message"] == "no user has email ghost@example.com"


def test_create_user_with_a_short_password_is_refused_and_creates_nobody(cli: Cli) -> None:
    error = refused(cli, "admin", "create-user", "--email", "frank@example.com", "--password-stdin", stdin="abc\n")
    assert error["message"] == "a password has 8 to 1024 characters"
    assert cli.user("frank@example.com")["email"] == "frank@example.com"  # the address is still free


def dashboard_login(printed: str) -> tuple[str, str, str]:
    [(url, email, password)] = _DASHBOARD_LINE.findall(printed)
    return url, email, password


def test_demo_prints_a_password_that_signs_in_and_a_new_one_each_run(cli: Cli) -> None:
    first = run("demo", "--database-url", cli.url, cwd=cli.cwd)
    assert first.returncode == 0, first.stderr
    url, email, password = dashboard_login(first.stdout)
    assert (url, email) == ("http://127.0.0.1:8080/", "demo@example.com")
    assert len(password) >= 12
    assert signs_in(cli.url, email, password)
    second = run("demo", "--database-url", cli.url, cwd=cli.cwd)
    _, _, again = dashboard_login(second.stdout)
    assert again != password
    assert signs_in(cli.url, email, again)
    assert not signs_in(cli.url, email, password)  # only the latest run's output knows the password


def test_serve_demo_prints_its_own_address_and_a_password_that_signs_in(tmp_path: Path) -> None:
    server = ProcServer(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path, args=["--demo"]).start()
    try:
        url, email, password = dashboard_login(server.log.read_text())
        assert url == f"{server.base}/"
        with WebClient(server) as web:
            r = web.try_login(email, password)
            assert r.status_code == 303 and r.headers["location"] == "/"
            home = web.get("/", follow_redirects=True)
            assert home.status_code == 200 and "Account A" in home.text
    finally:
        server.stop()

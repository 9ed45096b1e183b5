"""Fixtures for the dashboard's HTTP tests: a real server whose failed-login throttle trips after
3 failures and cools down after 2 seconds, so a test can wait for the cool-down to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from prefixgate.settings import Settings
from tests.support import Server, fresh_database_url

MAX_FAILURES = 3
COOLDOWN_S = 2.0


@pytest.fixture(scope="session")
def web_server(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with fresh_database_url(engine_name, str(tmp_path_factory.mktemp("webdb"))) as url:
        settings = Settings(
            database_url=url, login_max_failures=MAX_FAILURES, login_window_s=60, login_cooldown_s=COOLDOWN_S
        )
        s = Server(settings).start()
        yield s
        s.stop()

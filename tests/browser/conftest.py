"""Fixtures for the browser tests (see chromium.py and console.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright

from tests.browser.chromium import launched_chromium, playwright_driver
from tests.browser.console import Console, sqlite_console
from tests.browser.zone_scenes import Stage, zone_stage
from tests.support import engines


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    yield from playwright_driver()


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium per test worker; each test opens its own context."""
    yield from launched_chromium(playwright)


@pytest.fixture(scope="module")
def console(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The dashboard a test module shares, on SQLite (a module that needs another engine defines its own):
    the read models behind the pages run on both engines in tests/db, and the browser's half is the same
    on either."""
    yield from sqlite_console(tmp_path_factory, request.module.__name__.rpartition(".")[2])


@pytest.fixture(params=engines())
def stage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stage]:
    """A test's own dashboard with A's delegated /24 and B's zone (zone_scenes.Stage), on each engine."""
    yield from zone_stage(request.param, tmp_path)

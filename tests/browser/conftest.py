"""Fixtures for the dashboard's browser tests (see console.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.browser.chromium import launched_chromium


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test worker; each test opens its own context."""
    yield from launched_chromium()

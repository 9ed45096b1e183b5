"""Fixtures for the browser tests (see chromium.py and console.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright

from tests.browser.chromium import launched_chromium, playwright_driver


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    yield from playwright_driver()


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium per test worker; each test opens its own context."""
    yield from launched_chromium(playwright)

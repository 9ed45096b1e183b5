"""Fixtures for the dashboard's browser tests (see console.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright

from tests.browser.chromium import launched_chromium, started_playwright


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright per test worker, shared by every browser launched in it."""
    yield from started_playwright()


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium per test worker; each test opens its own context."""
    yield from launched_chromium(playwright)

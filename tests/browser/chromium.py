"""Debian's Chromium, launched the one way every browser test launches it (Playwright's own download is
not available here). Under CI=true a missing browser fails the tests; elsewhere it skips them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

__all__ = ["ARGS", "CHROMIUM", "launched_chromium", "require_chromium", "started_playwright"]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: scripts/test installs Debian's chromium"
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(message)  # CI must run the browser tests, never skip them
        pytest.skip(message)


def started_playwright() -> Iterator[Playwright]:
    """Playwright, stopped when the generator is closed. Start it once per process: its sync API refuses
    to start while another instance runs in the same thread ("Sync API inside the asyncio loop")."""
    require_chromium()
    with sync_playwright() as playwright:
        yield playwright


def launched_chromium(playwright: Playwright, extra_args: list[str] | None = None) -> Iterator[Browser]:
    """A started headless Chromium, closed when the generator is."""
    require_chromium()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *(extra_args or [])])
    try:
        yield browser
    finally:
        browser.close()

"""Headless Chromium (Debian's, never a downloaded one) driven by Playwright.

Screenshots go to artifacts/screenshots/ (gitignored) for a reviewer to look at.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


# Module scope, not session: while Playwright's sync API runs, an event loop is running in
# this thread, and any later asyncio.run() (the outbox and CLI tests) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    new_page = context.new_page()
    yield new_page
    context.close()


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until_true(page: Page, expression: str, timeout: float = 30) -> None:
    """Wait until `expression` is truthy in the page. Not `page.wait_for_function`: it polls
    with an eval() inside the page, which the console's Content Security Policy refuses
    (`script-src 'self'`) whenever the first check is not already true; `page.evaluate`
    runs over the DevTools protocol, outside the page's policy."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(50)

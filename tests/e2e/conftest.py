"""Browser fixtures for the end-to-end tests: Debian's chromium driven by Playwright (sync API).

- ``browser`` (session): one headless chromium for the whole run. Playwright's own browser
  download is never used; a missing /usr/bin/chromium (or ``$CHROMIUM``) FAILS the tests
  with a message saying how to install it: nothing here is skipped.
- ``page`` (function): a fresh context and page per test (1280x800, en-US, UTC, so texts
  and times are the same on every machine). An uncaught exception in the page fails the
  test at teardown.

Playwright's sync API marks its event loop as running in this thread between calls (its
dispatcher greenlet needs that). Two consequences, both handled here:
- pytest-asyncio cannot start a loop while one is marked running, so every async test that
  ran after a browser test would fail ("Runner.run() cannot be called from a running event
  loop"). The hooks below mark Playwright's loop as running only during the tests that use
  ``browser`` (from their setup to the end of their teardown), and the session fixture does the
  same around closing the browser.
- Django refuses database access while a loop runs ("SynchronousOnlyOperation"): ``page``
  sets DJANGO_ALLOW_ASYNC_UNSAFE for the duration of the test only.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Error, Page, sync_playwright

from tests.e2e.demo_stack import Demo, start_demo

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Playwright's event loop while the session's browser lives.
_playwright_loop: asyncio.AbstractEventLoop | None = None


def _enter_playwright() -> None:
    # What playwright/_impl/_greenlets.py:wait_for_future leaves behind after each sync call.
    if _playwright_loop is not None and not _playwright_loop.is_closed():
        asyncio._set_running_loop(_playwright_loop)


def _leave_playwright() -> None:
    asyncio._set_running_loop(None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    if "browser" in getattr(item, "fixturenames", ()):  # page and friends included
        _enter_playwright()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    try:
        return (yield)
    finally:
        _leave_playwright()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"chromium not found at {CHROMIUM}: the browser tests need it "
            "(Debian: `apt-get install chromium`, or `make browsers`; "
            "set CHROMIUM=/path/to/chromium to use another one)",
            pytrace=False,
        )
    global _playwright_loop
    playwright = sync_playwright().start()
    _playwright_loop = playwright._loop
    try:
        try:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
        except Error as exc:
            pytest.fail(f"chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
        try:
            yield browser
        finally:
            _enter_playwright()  # also when the session ends with a test from elsewhere
            browser.close()
    finally:
        _enter_playwright()
        playwright.stop()
        _playwright_loop = None
        _leave_playwright()


@pytest.fixture
def page(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        locale="en-US",
        timezone_id="UTC",
    )
    context.set_default_timeout(5_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Whatever the Content-Security-Policy blocks (an inline script or style, an eval, a
    # foreign origin) is a defect of the page: the browser reports it on the console.
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        yield page
    finally:
        context.close()
    if errors:
        pytest.fail("uncaught errors in the page:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`manage.py demo` (simulator, bridge, daphne) for one test module, behind a proxy."""
    yield from start_demo(tmp_path_factory.mktemp("demo"))

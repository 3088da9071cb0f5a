"""Debian's Chromium, headless, driven by Playwright: the browser tests' and the rehearsal's one way
to launch it, skipping (with the reason) where Chromium or Playwright is missing."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 900}
# Long enough for a request to go through approval, account, SEED and email; short enough to fail fast.
ACTION_TIMEOUT_MS = 10_000
# what every browser context is, so dates and numbers read as in Singapore
CONTEXT_OPTIONS = {"viewport": VIEWPORT, "locale": "en-SG", "timezone_id": "Asia/Singapore"}


@contextmanager
def launched(*extra_args: str) -> Iterator:
    """A headless Chromium (Playwright's Browser) for the block, closed afterwards."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make setup` does) to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"playwright is not installed ({exc}); run `make setup`")
    driver = sync_playwright().start()
    try:
        try:
            browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args])
        except Exception as exc:  # a broken Chromium install: say why, do not fail every test
            pytest.skip(f"playwright could not launch {CHROMIUM}: {str(exc).splitlines()[0]}")
        try:
            yield browser
        finally:
            browser.close()
    finally:
        driver.stop()

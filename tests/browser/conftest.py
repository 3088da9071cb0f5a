"""Browser tests: the portal in real headless Chromium (Debian's /usr/bin/chromium), driven by Playwright.

One system serves the whole session: intake, approval and notifier as processes on SQLite, a real
SMTP server and a broker namespace of its own, deleted at the end. Every test gets a fresh browser
context (no cookies), signs in as its own requester and invites its own addresses, so tests never
see each other's requests.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.support.mailbox import Mailbox
from tests.support.system import SERVICES, RunningSystem, system_env

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
RETRY_DELAYS = (0.2, 0.4, 0.8)
APPROVER = "bob@tech.gov.sg"
# decides now and then while bob has the page open, as a colleague would
SECOND_APPROVER = "dana@tech.gov.sg"
# Long enough for a request to go through approval, account, SEED and email; short enough to fail fast.
ACTION_TIMEOUT_MS = 10_000


# --- the browser -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def playwright_driver():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make setup` does) to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"playwright is not installed ({exc}); run `make setup`")
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver):
    try:
        launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken Chromium install: say why, do not fail every test
        pytest.skip(f"playwright could not launch {CHROMIUM}: {str(exc).splitlines()[0]}")
    yield launched
    launched.close()


# --- the running system ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def namespace(amqp_url):
    """A broker namespace of the session's own, deleted afterwards."""
    from invite_common.topology import Topology
    from tests.support.broker import delete_namespace

    ns = f"b{uuid.uuid4().hex[:10]}"
    yield ns
    delete_namespace(amqp_url, Topology(namespace=ns, retry_delays=RETRY_DELAYS))


@pytest.fixture(scope="session")
def system(tmp_path_factory, amqp_url, namespace, mailbox):
    """Intake, approval and notifier as processes on SQLite, with bob@tech.gov.sg as an approver."""
    root = tmp_path_factory.mktemp("browser-system")
    env = system_env(
        amqp_url=amqp_url,
        namespace=namespace,
        db_urls={s: f"sqlite:///{root / (s + '.db')}" for s in SERVICES},
        smtp_url=mailbox.url,
        var_dir=root / "var",
        RETRY_DELAYS=",".join(str(d) for d in RETRY_DELAYS),
        ROLE_GRANTS=f"approver:{APPROVER},approver:{SECOND_APPROVER},auditor:carol@tech.gov.sg",
        # digests are sent by the tests when they want one, never by the clock mid-session
        APPROVER_DIGEST_MINUTES="0",
    )
    running = RunningSystem(env=env, logs=root)
    try:
        running.start()
        yield running
    finally:
        running.stop()


# --- a page per test -------------------------------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@pytest.fixture
def context(browser, system):
    """A fresh browser context: no cookies, so every test starts signed out."""
    ctx = browser.new_context(base_url=system.base, viewport=VIEWPORT, locale="en-SG", timezone_id="Asia/Singapore")
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(request, context, system, tmp_path):
    found = context.new_page()
    yield found
    if getattr(request.node, "browser_call_failed", False):
        # What the browser showed when the test failed, and what the services said.
        shot = Path(tmp_path) / "failure.png"
        try:
            found.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failing page: {shot} (at {found.url})")
        except Exception:
            pass
        for name in SERVICES:
            print(f"--- {name} log (end)\n{system.log(name)[-2000:]}")

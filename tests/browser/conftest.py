"""Browser tests: the portal in real headless Chromium (Debian's /usr/bin/chromium), driven by Playwright.

One system serves the whole session: intake, approval and notifier as processes on SQLite, a real
SMTP server and a broker namespace of its own, deleted at the end. Every test gets a fresh browser
context (no cookies), signs in as its own requester and invites its own addresses, so tests never
see each other's requests.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.browser.people import ADMIN, APPROVER, AUDITOR, SECOND_APPROVER
from tests.support.chromium import ACTION_TIMEOUT_MS, CONTEXT_OPTIONS, launched
from tests.support.mailbox import Mailbox
from tests.support.system import RETRY_DELAYS, SERVICES, RunningSystem, system_env


# --- the browser -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    with launched() as chromium:
        yield chromium


# --- the running system ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def browser_namespace(amqp_url):
    """A broker namespace of the session's own, deleted afterwards."""
    from invite_common.topology import Topology
    from tests.support.broker import delete_namespace

    ns = f"b{uuid.uuid4().hex[:10]}"
    yield ns
    delete_namespace(amqp_url, Topology(namespace=ns, retry_delays=RETRY_DELAYS))


@pytest.fixture(scope="session")
def browser_system(tmp_path_factory, amqp_url, browser_namespace, browser_mailbox):
    """Intake, approval and notifier as processes on SQLite, with the approvers, auditor and admin of people.py."""
    root = tmp_path_factory.mktemp("browser-system")
    env = system_env(
        amqp_url=amqp_url,
        namespace=browser_namespace,
        db_urls={s: f"sqlite:///{root / (s + '.db')}" for s in SERVICES},
        smtp_url=browser_mailbox.url,
        var_dir=root / "var",
        ROLE_GRANTS=f"approver:{APPROVER},approver:{SECOND_APPROVER},auditor:{AUDITOR},admin:{ADMIN}",
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
def context(browser, browser_system):
    """A fresh browser context: no cookies, so every test starts signed out."""
    ctx = browser.new_context(base_url=browser_system.base, **CONTEXT_OPTIONS)
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(request, context, browser_system, tmp_path):
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
            print(f"--- {name} log (end)\n{browser_system.log(name)[-2000:]}")

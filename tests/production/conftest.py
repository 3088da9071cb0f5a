"""The rehearsal's browser, and the summary it prints at the end of the run: what differs from
production (test_rehearsal.SWAPS) and the timings recorded (timings.py), whatever pytest captured.
The parts and the release themselves are started by rehearsal.py."""
from __future__ import annotations

import pytest

from tests.production.timings import TIMINGS

SERVICES = ("intake", "approval", "notifier")


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    from tests.production.test_rehearsal import SWAPS

    terminalreporter.section("production rehearsal: what differs from production")
    for shipped, part, why in SWAPS:
        terminalreporter.write_line(f"{shipped:<26} -> {part:<16} {why}")
    terminalreporter.section("production rehearsal timings")
    for label, seconds in TIMINGS:
        terminalreporter.write_line(f"{label:<70} {seconds:7.2f} s" if seconds else label)


# -- the browser ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(release):
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"playwright is not installed ({exc}); run `make setup`")
    driver = sync_playwright().start()
    # Chromium trusts the rehearsal's certificate by its key alone, not the test CA for everything
    args = [*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={release.authority.spki_hash()}"]
    launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield launched
    launched.close()
    driver.stop()


@pytest.fixture
def new_page(browser, release, request):
    """Pages in browser contexts of their own (each a different person), on the portal's public address."""
    from tests.browser.conftest import VIEWPORT

    contexts = []

    def make():
        context = browser.new_context(base_url=release.ingress.url, viewport=VIEWPORT, locale="en-SG",
                                      timezone_id="Asia/Singapore")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        for name, process in release.processes.items():
            print(f"--- {name} log (end)\n{process.log()[-2000:]}")
    for context in contexts:
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report

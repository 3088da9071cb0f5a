"""The rehearsal's browser, and the summary it prints at the end of the run: what differs from
production (test_rehearsal.SWAPS) and the timings recorded (timings.py), whatever pytest captured.
The parts and the release themselves are started by rehearsal.py."""
from __future__ import annotations

import pytest

from tests.production.timings import TIMINGS
from tests.support.chromium import CONTEXT_OPTIONS, launched

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
def rehearsal_browser(release):
    # Chromium trusts the rehearsal's certificate by its key alone, not the test CA for everything
    with launched(f"--ignore-certificate-errors-spki-list={release.authority.spki_hash()}") as chromium:
        yield chromium


@pytest.fixture
def new_page(rehearsal_browser, release, request):
    """Pages in browser contexts of their own (each a different person), on the portal's public address."""
    contexts = []

    def make():
        context = rehearsal_browser.new_context(base_url=release.ingress.url, **CONTEXT_OPTIONS)
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

"""Steps a person takes in the portal, and what they read on its pages, for the browser tests.

Test modules import Playwright's names from here, so a missing playwright skips them instead of failing.
"""
from __future__ import annotations

import csv
import io
import re
import time

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed; run `make setup`")

from playwright.sync_api import Locator, Page, expect  # noqa: E402

from tests.browser.people import APPROVER  # noqa: E402
from tests.support.system import RunningSystem  # noqa: E402

# How long a request may take to move on after an approver's decision (the services are local).
SETTLE_SECONDS = 20.0


def sign_in(page: Page, email: str) -> None:
    """Sign in on the dev sign-in page by typing the email address, and land on the overview."""
    page.goto("/sign-in")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()


def field_error(page: Page, label: str) -> Locator:
    """The error message tied to a field by its aria-describedby (none: a locator that finds nothing)."""
    described = (page.get_by_label(label, exact=True).get_attribute("aria-describedby") or "").split()
    errors = [found for found in described if found.endswith("-error")]
    return page.locator(f"[id='{errors[0]}']" if errors else "[data-no-error-for-this-field]")


def detail_value(page: Page, term: str) -> Locator:
    """The value beside a term in a request's status panel or summary list ("TechPass state", "SEED")."""
    return page.locator("dt", has_text=re.compile(rf"^{re.escape(term)}$")).locator("xpath=following-sibling::dd[1]")


def history_titles(page: Page) -> list[str]:
    return page.get_by_role("list", name="History").get_by_role("heading", level=3).all_inner_texts()


def request_id_from_url(page: Page) -> str:
    found = re.search(r"/status/([^/?#]+)$", page.url)
    assert found, f"not on a request's status page: {page.url}"
    return found.group(1)


def reload_until(page: Page, locator: Locator, text: str, timeout: float = SETTLE_SECONDS) -> None:
    """Reload the page until `locator` reads `text`, as a person refreshing it would; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        if locator.count() and locator.first.inner_text().strip() == text:
            return
        if time.monotonic() > deadline:
            expect(locator.first).to_have_text(text, timeout=1)  # fails with what the page shows instead
            return
        time.sleep(0.25)
        page.reload()


def approve(system: RunningSystem, invite_id: str, comment: str = "Approved") -> None:
    """An approver approves through the JSON API (the approver's screens are not part of the portal)."""
    response = system.call("POST", f"/api/v1/invites/{invite_id}/approve", APPROVER, json={"comment": comment})
    assert response.status_code == 202, response.text


def reject(system: RunningSystem, invite_id: str, reason: str) -> None:
    response = system.call("POST", f"/api/v1/invites/{invite_id}/reject", APPROVER, json={"reason": reason})
    assert response.status_code == 202, response.text


def submit_by_api(system: RunningSystem, requester: str, body: dict) -> str:
    response = system.call("POST", "/api/v1/invites", requester, json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def status_cell(page: Page, email: str, column: str) -> Locator:
    """The cell under `column` in the status table's row for `email`."""
    headers = [h.strip() for h in page.get_by_role("columnheader").all_inner_texts()]
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=email, exact=True))
    # a batch's list starts each row with its row number, a row header rather than a cell
    return row.locator("th, td").nth(headers.index(column))


def filled_in(headings: list[str], rows: list[dict]) -> bytes:
    """The template with rows filled in, as a person would save it from a spreadsheet."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=headings, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")

"""A Monday-morning approver's queue: a batch upload opened from its one row, some of its requests approved
and the rest rejected with a reason; the queue sorted by requester, its filters and order kept for the
next visit, and Next request following that order. Each at 1280 and at 390 px, with screenshots.

Each test has requesters and invitees of its own (unique addresses) and filters the queue to them, since
the queue of the session's one system holds every test's waiting requests."""
from __future__ import annotations

import uuid

import pytest
import requests

from tests.browser.pages import Page, expect, filled_in, sign_in, submit_by_api
from tests.browser.people import SECOND_APPROVER
from tests.browser.test_approver_journeys import fresh_requester, no_sideways_scroll, officer, open_queue, queue_emails
from tests.browser.test_screenshots import BATCH_HEADINGS
from tests.browser.screens import shoot

# the other approver signs in here: bob signs in for every test of test_approver_journeys, and a person may
# sign in only so often a minute
DECIDER = SECOND_APPROVER
WIDTHS = [pytest.param({"width": 1280, "height": 900}, id="1280"), pytest.param({"width": 390, "height": 844}, id="390")]


def batch_of(system, requester: str, tag: str) -> None:
    """Submit a batch upload of four: three officers and a vendor at a public-officer address."""
    person = {"user_type": "public_officer", "last_name": "Tan", "contact_number": "+65 9123 4567",
              "organisation": "GovTech", "seed_onboarding": "no", "reason": "Joining the data team"}
    rows = [person | {"email": f"{name}.{tag}@tech.gov.sg", "first_name": name.title()} for name in ("gus", "hana", "ivan")]
    rows.append(person | {"email": f"vic.{tag}@tech.gov.sg", "first_name": "Vic", "user_type": "vendor",
                          "username": f"v-vic{tag}", "offshore": "no"})
    upload = requests.post(f"{system.base}/api/v1/batches", headers={"X-Dev-User": requester}, timeout=10,
                           files={"file": ("monday.csv", filled_in(BATCH_HEADINGS, rows), "text/csv")})
    assert upload.status_code == 201, upload.text
    submitted = system.call("POST", f"/api/v1/batches/{upload.json()['id']}/submit", requester)
    assert submitted.status_code == 201, submitted.text


def suffix(size: dict) -> str:
    return "" if size["width"] == 1280 else "-390"


@pytest.mark.parametrize("size", WIDTHS)
def test_an_approver_opens_a_batch_from_the_queue_approves_some_rows_and_rejects_the_rest(page: Page, browser_system, size):
    requester, tag = fresh_requester(), uuid.uuid4().hex[:6]
    batch_of(browser_system, requester, tag)
    page.set_viewport_size(size)
    sign_in(page, DECIDER)
    open_queue(page, requester)
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Batch of 4 from {requester}")
    expect(rows.first).to_contain_text("“monday.csv”, submitted")
    shoot(page, f"approvals-queue-batch-row{suffix(size)}")

    page.get_by_role("link", name=f"Batch of 4 from {requester}").click()
    expect(page.locator("#batch-filter")).to_contain_text(f"“monday.csv” by {requester}")
    expect(page.locator("#batch-summary")).to_contain_text("1 vendor at a public-officer address")
    assert sorted(queue_emails(page)) == sorted(f"{n}.{tag}@tech.gov.sg" for n in ("gus", "hana", "ivan", "vic"))
    if size["width"] == 390:
        no_sideways_scroll(page)
    shoot(page, f"approvals-batch-page{suffix(size)}")
    page.locator("#batch-filter").scroll_into_view_if_needed()
    shoot(page, f"approvals-batch-page-summary{suffix(size)}", full_page=False)

    for name in ("gus", "hana"):
        page.get_by_label(f"Select the request for {name}.{tag}@tech.gov.sg").check()
    page.get_by_role("button", name="Approve selected").click()
    page.get_by_role("button", name="Yes, approve these 2 requests").click()
    expect(page.get_by_role("status")).to_contain_text("2 of 2 selected requests were approved")
    page.get_by_role("link", name="Back to requests to approve").first.click()

    # back on the batch's page: the two left wait, and are rejected together with a reason
    expect(page.locator("#batch-filter")).to_contain_text("2 of its requests wait")
    assert sorted(queue_emails(page)) == [f"ivan.{tag}@tech.gov.sg", f"vic.{tag}@tech.gov.sg"]
    page.get_by_label("Select all 2 on this page").check()
    page.get_by_label("Comment, or the reason for rejecting").fill("Not in this quarter's headcount")
    page.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Reject 2 selected requests?")
    shoot(page, f"approvals-batch-reject-confirm{suffix(size)}")
    page.get_by_role("button", name="Yes, reject these 2 requests").click()
    expect(page.get_by_role("status")).to_contain_text("2 of 2 selected requests were rejected")
    shoot(page, f"approvals-batch-rejected{suffix(size)}")


@pytest.mark.parametrize("size", WIDTHS)
def test_an_approver_sorts_by_requester_finds_the_filters_kept_and_next_request_follows_the_order(page: Page, browser_system, size):
    tag = uuid.uuid4().hex[:6]
    early, late = f"a.{tag}@tech.gov.sg", f"z.{tag}@tech.gov.sg"
    submit_by_api(browser_system, late, officer(f"ann.{tag}@tech.gov.sg"))  # the oldest, by the last requester
    submit_by_api(browser_system, early, officer(f"cat.{tag}@tech.gov.sg"))
    submit_by_api(browser_system, early, officer(f"bob.{tag}@tech.gov.sg"))
    page.set_viewport_size(size)
    sign_in(page, DECIDER)
    open_queue(page)
    page.get_by_label("Invitee email contains").fill(tag)
    page.get_by_role("button", name="Apply filters").click()
    assert queue_emails(page) == [f"ann.{tag}@tech.gov.sg", f"cat.{tag}@tech.gov.sg", f"bob.{tag}@tech.gov.sg"]
    page.get_by_label("Sort by").select_option("requester")
    page.get_by_role("button", name="Sort", exact=True).click()
    by_requester = [f"cat.{tag}@tech.gov.sg", f"bob.{tag}@tech.gov.sg", f"ann.{tag}@tech.gov.sg"]
    assert queue_emails(page) == by_requester
    expect(page.get_by_label("Invitee email contains")).to_have_value(tag)
    expect(page.locator("#result-count")).to_contain_text("sorted by requester")
    shoot(page, f"approvals-queue-sorted{suffix(size)}")
    page.locator("form.sort").scroll_into_view_if_needed()
    shoot(page, f"approvals-queue-sorted-in-view{suffix(size)}", full_page=False)

    # away and back, by the navigation: the same filters, the same order
    page.goto("/")
    open_queue(page)
    expect(page.get_by_label("Invitee email contains")).to_have_value(tag)
    expect(page.get_by_label("Sort by")).to_have_value("requester")
    assert queue_emails(page) == by_requester
    expect(page.get_by_role("link", name="Clear filters")).to_be_visible()
    shoot(page, f"approvals-queue-kept{suffix(size)}")

    # the first decided, Next request is the second in this order, not the oldest
    page.get_by_role("link", name=f"cat.{tag}@tech.gov.sg").click()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text(f"You approved the request for cat.{tag}@tech.gov.sg")).to_be_visible()
    page.locator("#next-request").get_by_role("link", name="Next request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request for bob.{tag}@tech.gov.sg")

    open_queue(page)
    page.get_by_role("link", name="Clear filters").click()
    expect(page.get_by_label("Sort by")).to_have_value("age")
    expect(page.get_by_label("Invitee email contains")).to_have_value("")

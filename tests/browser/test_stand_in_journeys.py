"""Stand-ins and reassignment in Chromium at 1280 and 390 px: an approver names a stand-in from the queue's
link (the errors first, beside their fields), sees it listed and ends it; an administrator opens a waiting
request from the Waiting requests page and gives it to a named person, who then finds it in their queue."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.browser.pages import Page, expect, field_error, sign_in, submit_by_api
from tests.browser.people import ADMIN, APPROVER
from tests.browser.screens import NARROW, WIDE, shoot

SGT = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(params=[WIDE, NARROW], ids=["1280", "390"])
def screen_width(request, page: Page) -> int:
    page.set_viewport_size({"width": request.param, "height": 900 if request.param == WIDE else 844})
    return request.param


def test_an_approver_names_a_stand_in_and_ends_it(page: Page, screen_width: int):
    stand_in = f"kai.{uuid.uuid4().hex[:6]}@tech.gov.sg"
    sign_in(page, APPROVER)
    page.goto("/approvals")
    page.get_by_role("link", name="Name a stand-in for when you are away").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stand-in")
    page.get_by_role("button", name="Name stand-in").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    expect(field_error(page, "Email address of your stand-in")).to_contain_text("Enter the email address of your stand-in.")
    expect(field_error(page, "End day")).to_contain_text("Enter the day your stand-in's duty should end.")
    shoot(page, f"stand-in-errors-{screen_width}")
    page.get_by_label("Email address of your stand-in").fill(stand_in)
    ends = (dt.datetime.now(SGT) + dt.timedelta(days=5)).date()
    page.get_by_label("End day").fill(ends.isoformat())
    page.get_by_label("End time").fill("17:30")
    page.get_by_role("button", name="Name stand-in").click()
    expect(page.get_by_role("alert").filter(has_text=f"{stand_in} stands in for you")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=stand_in)
    expect(row).to_contain_text("Standing in now")
    expect(row).to_contain_text(f"{ends.day} {ends:%b %Y}, 5:30 pm SGT")
    shoot(page, f"stand-in-{screen_width}")
    row.get_by_role("button", name=f"End now the stand-in of {stand_in}").click()
    expect(page.get_by_role("alert").filter(has_text=f"{stand_in} no longer stands in for you")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=stand_in)).to_have_count(0)


def test_an_administrator_reassigns_a_waiting_request(page: Page, screen_width: int, browser_system):
    invitee = f"mei.{uuid.uuid4().hex[:6]}@tech.gov.sg"
    erin = f"erin.{uuid.uuid4().hex[:6]}@tech.gov.sg"
    invite = submit_by_api(browser_system, "nurul.huda@tech.gov.sg", {
        "method": "email_invitation", "email": invitee, "seed_onboarding": False, "reason": "Joining the data team"})
    try:
        sign_in(page, ADMIN)
        if screen_width == NARROW:
            page.get_by_role("button", name="Menu").click()
        page.get_by_role("link", name="Waiting requests").click()
        # other journeys leave requests waiting too: find this one among the pages of them
        page.get_by_label("Invitee or requester email contains").fill(invitee)
        page.get_by_role("button", name="Find").click()
        page.get_by_role("link", name=invitee).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Request for {invitee}")
        page.get_by_role("button", name="Reassign").click()
        expect(field_error(page, "Reason")).to_contain_text("Enter the reason for reassigning.")
        page.get_by_label("Email address of the person to decide it").fill("nurul.huda@tech.gov.sg")
        page.get_by_label("Reason").fill("The data team's approvers are on leave this week")
        page.get_by_role("button", name="Reassign").click()
        expect(field_error(page, "Email address of the person to decide it")).to_contain_text("This person made the request.")
        shoot(page, f"reassign-errors-{screen_width}")
        page.get_by_label("Email address of the person to decide it").fill(erin)
        page.get_by_role("button", name="Reassign").click()
        expect(page.get_by_role("alert").filter(has_text=f"{erin} now decides this request")).to_be_visible()
        expect(page.locator("#decided-by")).to_have_text(erin)
        shoot(page, f"reassign-{screen_width}")
        queue = browser_system.call("GET", "/api/v1/approvals", erin).json()["items"]
        assert [i["id"] for i in queue] == [invite]
        assert invite not in [i["id"] for i in browser_system.call("GET", "/api/v1/approvals", APPROVER).json()["items"]]
    finally:
        browser_system.call("POST", f"/api/v1/invites/{invite}/cancel", "nurul.huda@tech.gov.sg")

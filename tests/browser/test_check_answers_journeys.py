"""Check your answers on both invite forms, at 1280 px and at 390 px: fill in the form, read every answer
back, change one (the form opens at that field with everything kept), come back to the check page and
submit, ending on the new request's page."""
import re

import pytest

from tests.browser.pages import Page, detail_value, expect, sign_in
from tests.browser.screens import NARROW, WIDE, shoot

CHECK_TITLE = "Check your answers before sending the request"


def answer(page: Page, key: str):
    """The value shown beside an answer's key on the check page."""
    row = page.locator(".summary-list__row").filter(has=page.get_by_text(key, exact=True))
    return row.locator(".summary-list__value")


def change(page: Page, name: str):
    return page.get_by_role("link", name=f"Change {name}", exact=True)


@pytest.mark.parametrize("width", [WIDE, NARROW], ids=["1280", "390"])
def test_an_email_invitation_is_checked_changed_and_then_sent(page: Page, width: int):
    page.set_viewport_size({"width": width, "height": 900})
    invitee = f"mei.ling.{width}@tech.gov.sg"
    sign_in(page, f"check.email.{width}@tech.gov.sg")
    page.goto("/invite/email")
    page.get_by_label("Email address", exact=True).fill(f"mei.lin.{width}@tech.gov.sg")  # a typo, put right below
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("No", exact=True).check()
    page.get_by_label("Reason for the request").fill("Joining the payments team")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(CHECK_TITLE)
    expect(answer(page, "Email address")).to_have_text(f"mei.lin.{width}@tech.gov.sg")
    expect(answer(page, "SEED onboarding required")).to_have_text("No")
    expect(answer(page, "Reason for the request")).to_have_text("Joining the payments team")
    shoot(page, f"check-answers-email-{width}")

    change(page, "email address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email invitation")
    email = page.get_by_label("Email address", exact=True)
    expect(email).to_be_focused()
    expect(page.get_by_label("Reason for the request")).to_have_value("Joining the payments team")
    expect(page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("No", exact=True)).to_be_checked()
    shoot(page, f"check-answers-email-change-{width}", full_page=False)
    email.fill(invitee)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(CHECK_TITLE)
    expect(answer(page, "Email address")).to_have_text(invitee)
    page.get_by_role("button", name="Submit request").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request for {invitee}")
    expect(page.get_by_role("alert")).to_contain_text(f"Request sent for {invitee}")
    shoot(page, f"check-answers-email-sent-{width}")


@pytest.mark.parametrize("width", [WIDE, NARROW], ids=["1280", "390"])
def test_a_vendors_account_request_is_checked_changed_and_then_sent(page: Page, width: int):
    page.set_viewport_size({"width": width, "height": 900})
    invitee = f"arun.{width}@vendor.example.com"
    sign_in(page, f"check.account.{width}@tech.gov.sg")
    page.goto("/invite/account")
    page.get_by_label("Email address", exact=True).fill(invitee)
    page.get_by_role("group", name="Is this person a public officer or a vendor?").get_by_label("Vendor").check()
    page.get_by_label("TechPass username").fill(f"v-arun.{width}")
    page.get_by_label("First name").fill("Arun")
    page.get_by_label("Last name").fill("Pillai")
    page.get_by_label("Contact number").fill("8123 4567")
    page.get_by_label("Organisation", exact=True).fill("Wrong Pte Ltd")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("Yes", exact=True).check()
    page.get_by_label("Reason for the request").fill("Builds the booking service")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(CHECK_TITLE)
    expect(answer(page, "Public officer or vendor")).to_have_text("Vendor")
    expect(answer(page, "Contact number")).to_have_text("+65 8123 4567")
    expect(answer(page, "Department")).to_have_text("Not given")
    expect(answer(page, "Organisation")).to_have_text("Wrong Pte Ltd")
    shoot(page, f"check-answers-account-{width}")

    change(page, "organisation").click()
    organisation = page.get_by_label("Organisation", exact=True)
    expect(organisation).to_be_focused()
    expect(organisation).to_have_value("Wrong Pte Ltd")
    expect(page.get_by_label("TechPass username")).to_have_value(f"v-arun.{width}")
    expect(page.get_by_label("Vendor")).to_be_checked()
    organisation.fill("Right Pte Ltd")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(CHECK_TITLE)
    expect(answer(page, "Organisation")).to_have_text("Right Pte Ltd")
    # Back to the form keeps every answer too
    page.get_by_role("link", name="Back to the form").click()
    expect(page.get_by_label("Organisation", exact=True)).to_have_value("Right Pte Ltd")
    page.get_by_role("button", name="Continue").click()
    submit = page.get_by_role("button", name="Submit request")
    submit.dblclick()  # a double click sends it once

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request for {invitee}")
    expect(detail_value(page, "Organisation")).to_have_text("Right Pte Ltd")
    expect(page.get_by_role("alert")).to_contain_text(re.compile(f"Request sent for {re.escape(invitee)}"))
    shoot(page, f"check-answers-account-sent-{width}")
    page.goto(f"/status?email={invitee}")
    expect(page.get_by_role("row").filter(has=page.get_by_role("link", name=invitee, exact=True))).to_have_count(1)

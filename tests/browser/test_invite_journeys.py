"""Inviting one person from the portal, following the request to the invitation, and cancelling one;
an email invitation for a vendor sent on to Create account, and a refused number told why."""
import re

from tests.browser.pages import (
    Page,
    expect,
    approve,
    detail_value,
    field_error,
    history_titles,
    reload_until,
    request_id_from_url,
    sign_in,
    status_cell,
    submit_by_api,
)
from tests.browser.screens import shoot_both


def open_invite_users(page: Page) -> None:
    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Invite users").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite users")


def test_email_invitation_waits_for_approval_then_shows_invitation_sent_with_its_history(page, browser_system):
    sign_in(page, "nora.lee@tech.gov.sg")
    open_invite_users(page)
    page.get_by_role("link", name="Email invitation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email invitation")

    page.get_by_label("Email address", exact=True).fill("jun.hao@tech.gov.sg")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("No", exact=True).check()
    page.get_by_label("Reason for the request").fill("Joining the data platform team")
    page.get_by_role("button", name="Send request").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Request for jun.hao@tech.gov.sg")
    expect(page.get_by_role("alert")).to_contain_text("Request sent for jun.hao@tech.gov.sg")
    expect(detail_value(page, "TechPass state")).to_have_text("Waiting for approval")
    expect(detail_value(page, "SEED")).to_have_text("Not needed")
    assert history_titles(page) == ["Request submitted"]

    approve(browser_system, request_id_from_url(page), comment="Welcome to the team")
    reload_until(page, detail_value(page, "TechPass state"), "Invitation sent")

    expect(page.get_by_role("button", name="Cancel request")).to_have_count(0)
    expect(page.get_by_role("button", name="Resend invite")).to_be_visible()
    assert history_titles(page) == [
        "Request submitted",
        "Approved",
        "TechPass account created",
        "Invitation emailed",
    ]
    approved = page.get_by_role("list", name="History").get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Approved", exact=True))
    expect(approved).to_contain_text("by bob@tech.gov.sg")
    expect(approved).to_contain_text("Welcome to the team")

    # sent again at the requester's wish, the history shows the second delivery too
    page.get_by_role("button", name="Resend invite").click()
    reload_until(page, page.get_by_role("list", name="History").get_by_role("heading", level=3).last, "Invitation sent again")


def test_create_account_for_a_vendor_with_seed_keeps_typed_values_beside_errors_and_ends_invited(page, browser_system):
    sign_in(page, "omar.rahman@tech.gov.sg")
    open_invite_users(page)
    page.get_by_role("link", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create account")

    page.get_by_label("Email address", exact=True).fill("wei.ling@acme-vendor.com")
    page.get_by_role("group", name="Is this person a public officer or a vendor?").get_by_label("Vendor").check()
    # The username is left out and the contact number is too short.
    page.get_by_label("First name").fill("Wei Ling")
    page.get_by_label("Last name").fill("Chua")
    page.get_by_label("Contact number").fill("12345")
    page.get_by_label("Organisation", exact=True).fill("Acme Pte Ltd")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("Yes", exact=True).check()
    page.get_by_label("Reason for the request").fill("Builds the booking service")
    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_title(re.compile(r"^Error: Create account"))
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_focused()
    expect(field_error(page, "TechPass username")).to_contain_text("Enter the vendor's TechPass username.")
    expect(field_error(page, "Contact number")).to_contain_text("A Singapore number has 8 digits; you entered 5.")
    expect(page.get_by_label("Contact number")).to_have_attribute("aria-invalid", "true")
    expect(field_error(page, "First name")).to_have_count(0)
    # What was typed and chosen is all still there.
    expect(page.get_by_label("Email address", exact=True)).to_have_value("wei.ling@acme-vendor.com")
    expect(page.get_by_label("Vendor")).to_be_checked()
    expect(page.get_by_label("First name")).to_have_value("Wei Ling")
    expect(page.get_by_label("Last name")).to_have_value("Chua")
    expect(page.get_by_label("Contact number")).to_have_value("12345")
    expect(page.get_by_label("Organisation", exact=True)).to_have_value("Acme Pte Ltd")
    expect(page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("Yes", exact=True)).to_be_checked()
    expect(page.get_by_label("Reason for the request")).to_have_value("Builds the booking service")

    # The summary's link takes the caret to the field.
    summary.get_by_role("link", name="Enter the vendor's TechPass username.").click()
    expect(page.get_by_label("TechPass username")).to_be_focused()
    page.get_by_label("TechPass username").fill("v-weiling.chua")
    page.get_by_label("Contact number").fill("9123 4567")
    page.get_by_role("button", name="Send request").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Request for wei.ling@acme-vendor.com")
    expect(detail_value(page, "TechPass state")).to_have_text("Waiting for approval")
    expect(detail_value(page, "SEED")).to_have_text("Pending approval")
    expect(detail_value(page, "TechPass username")).to_have_text("v-weiling.chua")
    expect(detail_value(page, "Contact number")).to_have_text("+65 9123 4567")

    approve(browser_system, request_id_from_url(page))
    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Invite status").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite status")
    reload_until(page, status_cell(page, "wei.ling@acme-vendor.com", "TechPass state"), "Invitation sent")
    expect(status_cell(page, "wei.ling@acme-vendor.com", "SEED")).to_have_text("Sent with invitation")
    expect(status_cell(page, "wei.ling@acme-vendor.com", "Method")).to_have_text("Create account")

    page.get_by_role("link", name="wei.ling@acme-vendor.com").click()
    titles = history_titles(page)
    assert "SEED enrolment booked" in titles and titles[-1] == "Invitation emailed", titles
    expect(page.get_by_text(re.compile(r"^SEED enrolment code expires "))).to_be_visible()


def test_cancelling_a_pending_request_asks_to_confirm_then_shows_cancelled(page, browser_system):
    requester = "priya.nair@tech.gov.sg"
    submit_by_api(browser_system, requester, {
        "method": "email_invitation", "email": "hui.min@tech.gov.sg", "seed_onboarding": False,
        "reason": "Joining the analytics team",
    })
    sign_in(page, requester)
    page.get_by_role("link", name="hui.min@tech.gov.sg").click()  # from the overview's recent requests
    expect(detail_value(page, "TechPass state")).to_have_text("Waiting for approval")

    page.get_by_role("button", name="Cancel request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel the request for hui.min@tech.gov.sg?")
    page.get_by_role("link", name="No, keep it").click()
    expect(detail_value(page, "TechPass state")).to_have_text("Waiting for approval")

    page.get_by_role("button", name="Cancel request").click()
    page.get_by_role("button", name="Yes, cancel this request").click()
    expect(page.get_by_role("alert")).to_contain_text("Your cancellation was sent")
    reload_until(page, detail_value(page, "TechPass state"), "Cancelled")
    expect(page.get_by_role("button", name="Cancel request")).to_have_count(0)
    assert history_titles(page)[-1] == "Request cancelled"


def test_an_email_invitation_for_a_vendor_leads_to_create_account_with_what_was_typed(page):
    sign_in(page, "siti.a@tech.gov.sg")
    page.goto("/invite/email")
    page.get_by_label("Email address", exact=True).fill("john@vendor.com")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("Yes", exact=True).check()
    page.get_by_label("Reason for the request").fill("Maintains the booking service")
    page.get_by_role("button", name="Send request").click()

    expect(field_error(page, "Email address")).to_contain_text(
        "Email invitation is for public officers, whose address ends in gov.sg. To invite a vendor, use Create account.")
    shoot_both(page, "email-invitation-for-a-vendor")
    field_error(page, "Email address").get_by_role("link", name="Create an account for a vendor instead").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Create account")
    expect(page.get_by_label("Email address", exact=True)).to_have_value("john@vendor.com")
    expect(page.get_by_label("Vendor")).to_be_checked()
    expect(page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("Yes", exact=True)).to_be_checked()
    expect(page.get_by_label("Reason for the request")).to_have_value("Maintains the booking service")
    expect(page.get_by_label("TechPass username")).to_be_visible()  # the vendor's own questions are shown


def test_a_number_of_eight_digits_outside_the_ranges_in_use_is_refused_for_that_reason(page):
    sign_in(page, "ravi.k@tech.gov.sg")
    page.goto("/invite/account")
    page.get_by_label("Contact number").fill("99432920")
    page.get_by_role("button", name="Send request").click()
    expect(field_error(page, "Contact number")).to_contain_text("9943 2920 is not a Singapore number in use: check the digits.")
    expect(page.get_by_label("Contact number")).to_have_value("99432920")
    shoot_both(page, "create-account-number-not-in-use", in_view="#contact_number-field")

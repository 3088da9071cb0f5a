"""Following a request: resend's once-a-day limit shown up front, a cancellation followed to its end,
times that name their zone, readable contact numbers, page numbers, the reason's character count,
the warning for a vendor at a public-officer address, and a rejected request's reason with the way to
ask for it again."""
import re

import requests

from tests.browser.pages import (
    Page, approve, detail_value, expect, filled_in, history_titles, reject, request_id_from_url, sign_in, submit_by_api,
)
from tests.browser.screens import shoot_both

# a time as the pages show it: the date, the clock time and the zone (Singapore time) named
SGT_TIME = r"\d{1,2} \w{3} \d{4}, \d{1,2}:\d\d [ap]m SGT"


def email_invitation(email: str) -> dict:
    return {"method": "email_invitation", "email": email, "seed_onboarding": False, "reason": "Joining the platform team"}


def submit_batch_by_api(browser_system, requester: str, rows: list[dict]) -> None:
    headings = list(rows[0])
    data = filled_in(headings, rows)
    uploaded = requests.post(f"{browser_system.base}/api/v1/batches", headers={"X-Dev-User": requester},
                             files={"file": ("many.csv", data, "text/csv")}, timeout=10)
    assert uploaded.status_code == 201, uploaded.text
    submitted = browser_system.call("POST", f"/api/v1/batches/{uploaded.json()['id']}/submit", requester)
    assert submitted.status_code == 201, submitted.text


def test_after_a_resend_the_button_says_when_it_can_next_be_used(page: Page, browser_system):
    requester = "hafiz.r@tech.gov.sg"
    invite_id = submit_by_api(browser_system, requester, email_invitation("resent.once@tech.gov.sg"))
    approve(browser_system, invite_id)
    browser_system.wait_for_state(invite_id, "emailed")
    sign_in(page, requester)
    page.goto(f"/status/{invite_id}")

    page.get_by_role("button", name="Resend invite").click()

    expect(page.get_by_role("alert")).to_contain_text("will be sent to resent.once@tech.gov.sg again")
    button = page.get_by_role("button", name="Resend invite")
    expect(button).to_be_disabled()  # not only after a second press
    expect(page.locator("#resend-later")).to_have_text(
        re.compile(rf"You can resend it after {SGT_TIME}\.")
    )
    expect(button).to_have_accessible_description(re.compile("You can resend it after"))
    shoot_both(page, "request-resend-limit")


def test_a_confirmed_cancellation_shows_itself_then_the_final_state_without_a_reload(page: Page, browser_system):
    requester = "chen.yi@tech.gov.sg"
    invite_id = submit_by_api(browser_system, requester, email_invitation("to.cancel@tech.gov.sg"))
    sign_in(page, requester)
    page.goto(f"/status/{invite_id}")
    # With the workflow away for a moment, the cancellation waits in the broker: the page must say so.
    browser_system.stop("approval")
    try:
        page.get_by_role("button", name="Cancel request").click()
        page.get_by_role("button", name="Yes, cancel this request").click()

        expect(detail_value(page, "TechPass state")).to_have_text("Being cancelled")
        expect(page.get_by_text("This page updates by itself")).to_be_visible()
        page.evaluate("window.stillTheSamePage = true")
        shoot_both(page, "request-being-cancelled")
    finally:
        browser_system.start("approval")

    expect(detail_value(page, "TechPass state")).to_have_text("Cancelled", timeout=20_000)
    assert page.evaluate("window.stillTheSamePage === true")  # updated in place, not reloaded
    expect(page.get_by_role("status")).to_have_text("Updated: the TechPass state is now Cancelled.")
    assert "Request cancelled" in history_titles(page)
    shoot_both(page, "request-cancelled")


def test_times_name_singapore_time_lists_show_the_time_and_numbers_read_internationally(page: Page, browser_system):
    requester = "priya.n@tech.gov.sg"
    vendor = {"method": "create_account", "email": "sam.wong@vendor.example.com", "user_type": "vendor",
              "username": "v-sam.wong", "first_name": "Sam", "last_name": "Wong", "contact_number": "+6591234567",
              "organisation": "Vendor Pte Ltd", "seed_onboarding": False, "reason": "Builds the booking service"}
    invite_id = submit_by_api(browser_system, requester, vendor)
    # enough requests for a second page of the list (25 a page), sent as one batch
    rows = [{"email": f"officer{n:02d}@tech.gov.sg", "user_type": "public_officer", "first_name": "Officer",
             "last_name": str(n), "contact_number": "9123 4567", "organisation": "GovTech", "seed_onboarding": "no",
             "reason": "Joining"} for n in range(25)]
    submit_batch_by_api(browser_system, requester, rows)
    sign_in(page, requester)

    recent = page.get_by_role("table")
    expect(recent.get_by_role("cell", name=re.compile(rf"^{SGT_TIME}$")).first).to_be_visible()

    page.goto("/status")
    pages = page.get_by_role("navigation", name="Pages of requests")
    expect(pages.get_by_role("link", name="Page 1 of 2")).to_have_attribute("aria-current", "page")
    expect(pages.get_by_role("link", name="Next page")).to_be_visible()
    shoot_both(page, "invite-status-page-numbers", in_view="nav.pagination")
    pages.get_by_role("link", name="Page 2", exact=True).click()
    expect(page.get_by_role("navigation", name="Pages of requests").get_by_role("link", name="Page 2 of 2")).to_have_attribute(
        "aria-current", "page")
    expect(page.get_by_role("link", name="sam.wong@vendor.example.com")).to_be_visible()  # the oldest, last

    page.goto(f"/status/{invite_id}")
    expect(detail_value(page, "Created")).to_have_text(re.compile(rf"^{SGT_TIME}$"))
    expect(detail_value(page, "Contact number")).to_have_text("+65 9123 4567")
    expect(page.get_by_role("list", name="History").locator("time").first).to_be_visible()
    expect(page.get_by_role("list", name="History").locator("time").first).to_have_text(re.compile(SGT_TIME))
    shoot_both(page, "request-detail-times-and-number")


def test_the_reason_counts_its_characters_as_they_are_typed(page: Page):
    sign_in(page, "tan.wei@tech.gov.sg")
    page.goto("/invite/email")
    count = page.locator("#reason-count")
    expect(count).to_have_text("You have 1,000 characters remaining")

    page.get_by_label("Reason for the request").fill("Joining the data team")
    expect(count).to_have_text("You have 979 characters remaining")
    page.get_by_label("Reason for the request").fill("x" * 1004)
    expect(count).to_have_text("You have 4 characters too many")
    expect(page.locator("[data-char-count-live='reason']")).to_have_text("You have 4 characters too many")
    shoot_both(page, "reason-character-count")


def test_a_vendor_at_a_public_officer_address_is_sent_only_after_the_requester_confirms(page: Page):
    sign_in(page, "lim.kai@tech.gov.sg")
    page.goto("/invite/account")
    page.get_by_label("Email address", exact=True).fill("vendor.staff@tech.gov.sg")
    page.get_by_role("group", name="Is this person a public officer or a vendor?").get_by_label("Vendor").check()
    page.get_by_label("TechPass username").fill("v-vendor.staff")
    page.get_by_label("First name").fill("Ravi")
    page.get_by_label("Last name").fill("Kumar")
    page.get_by_label("Contact number").fill("9123 4567")
    page.get_by_label("Organisation").fill("Vendor Pte Ltd")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("No", exact=True).check()
    page.get_by_label("Reason for the request").fill("Embedded contractor with an agency mailbox")
    page.get_by_role("button", name="Continue").click()

    warning = page.get_by_role("alert").filter(has_text="Check before sending")
    expect(warning).to_be_focused()
    expect(warning).to_contain_text("This vendor has a public officer email address")
    expect(page).to_have_title("Create account – Invite Users")  # a warning, not an error
    expect(page.get_by_label("Email address", exact=True)).to_have_value("vendor.staff@tech.gov.sg")
    shoot_both(page, "create-account-vendor-officer-address")

    page.get_by_label("I have checked: this vendor uses a public officer email address").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Submit request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request for vendor.staff@tech.gov.sg")


def test_a_rejected_request_says_why_at_the_top_and_is_asked_for_again_from_its_answers(page: Page, browser_system):
    requester = "farah.i@tech.gov.sg"
    vendor = {"method": "create_account", "email": "li.na@vendor.example.com", "user_type": "vendor",
              "username": "v-li.na", "first_name": "Li", "last_name": "Na", "contact_number": "+6591234567",
              "organisation": "Wrong Pte Ltd", "department": "Data", "seed_onboarding": True,
              "reason": "Builds the data pipeline"}
    earlier = submit_by_api(browser_system, requester, vendor)
    reject(browser_system, earlier, "The organisation is not the vendor on the contract.")
    browser_system.wait_for_state(earlier, "rejected")
    sign_in(page, requester)
    page.goto(f"/status/{earlier}")

    expect(detail_value(page, "TechPass state")).to_have_text("Rejected")
    expect(detail_value(page, "Why it was rejected")).to_have_text("The organisation is not the vendor on the contract.")
    again = page.get_by_role("link", name="Request again")
    expect(again).to_have_accessible_description(re.compile("Create account form filled in with this request"))
    shoot_both(page, "request-rejected-with-reason")

    again.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create account")
    expect(page.get_by_text("Why it was rejected: The organisation is not the vendor on the contract.")).to_be_visible()
    expect(page.get_by_label("Email address", exact=True)).to_have_value("li.na@vendor.example.com")
    expect(page.get_by_label("Vendor")).to_be_checked()
    expect(page.get_by_label("TechPass username")).to_have_value("v-li.na")
    expect(page.get_by_label("Contact number")).to_have_value("+65 9123 4567")
    expect(page.get_by_label("Department (optional)")).to_have_value("Data")
    expect(page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("Yes", exact=True)).to_be_checked()
    expect(page.get_by_label("Reason for the request")).to_have_value("Builds the data pipeline")
    shoot_both(page, "request-again-form")

    page.get_by_label("Organisation", exact=True).fill("Right Pte Ltd")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Submit request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request for li.na@vendor.example.com")
    expect(detail_value(page, "Organisation")).to_have_text("Right Pte Ltd")
    history = page.get_by_role("list", name="History")
    repeats = history.get_by_role("link", name=re.compile(r"^the request for li\.na@vendor\.example\.com of "))
    expect(history).to_contain_text("Repeats the request for li.na@vendor.example.com of")
    shoot_both(page, "request-repeating-an-earlier-one")

    repeats.click()
    assert request_id_from_url(page) == earlier
    assert history_titles(page)[-1] == "Requested again"
    expect(page.get_by_role("list", name="History")).to_contain_text("Requested again as the request for li.na@vendor.example.com of")

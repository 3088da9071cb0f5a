"""Inviting one person from the portal, following the request to the invitation, and cancelling one,
several at once, or every pending request of a batch; an email invitation for a vendor sent on to
Create account, and a refused number told why."""
import re

from tests.browser.pages import (
    Page,
    expect,
    approve,
    detail_value,
    field_error,
    filled_in,
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
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Submit request").click()

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
    page.get_by_role("button", name="Continue").click()

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
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Submit request").click()

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


def submit_batch_by_api(system, requester: str, rows: list[dict]) -> str:
    """Upload a batch file through the API and submit it whole; the batch's id."""
    import requests

    headers = {"X-Dev-User": requester}
    headings = system.call("GET", "/api/v1/batches/template.csv", requester).text.lstrip("\ufeff").strip().split(",")
    uploaded = requests.post(system.base + "/api/v1/batches", headers=headers, timeout=10,
                             files={"file": ("new-vendors.csv", filled_in(headings, rows), "text/csv")})
    assert uploaded.status_code == 201, uploaded.text
    batch_id = uploaded.json()["id"]
    submitted = system.call("POST", f"/api/v1/batches/{batch_id}/submit", requester)
    assert submitted.status_code == 201, submitted.text
    return batch_id


def test_ticking_several_requests_then_confirming_cancels_them_and_says_what_became_of_each(page, browser_system):
    requester = "nur.aisyah@tech.gov.sg"
    invitees = ["wei.jie@tech.gov.sg", "mei.ling@tech.gov.sg", "arjun.k@tech.gov.sg", "kelly.ong@tech.gov.sg"]
    ids = {email: submit_by_api(browser_system, requester, {
        "method": "email_invitation", "email": email, "seed_onboarding": False, "reason": "Joining the data team",
    }) for email in invitees}
    sign_in(page, requester)
    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Invite status").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite status")

    # nothing ticked: the page says so and leads to the first checkbox
    page.get_by_role("button", name="Cancel selected requests").click()
    expect(page.get_by_role("alert")).to_contain_text("Select the requests you want to cancel.")
    page.get_by_role("link", name="Select the requests you want to cancel.").click()
    expect(page.get_by_role("checkbox").first).to_be_focused()

    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Invite status").click()
    for email in invitees[:3]:
        page.get_by_role("checkbox", name=f"Select the request for {email} to cancel").check()
    shoot_both(page, "invite-status-cancel-ticked")
    page.get_by_role("button", name="Cancel selected requests").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel 3 requests?")
    chosen = page.get_by_role("table", name="The requests to cancel")
    for email in invitees[:3]:
        expect(chosen.get_by_role("row").filter(has_text=email)).to_contain_text("Email invitation")
    expect(chosen).not_to_contain_text(invitees[3])
    shoot_both(page, "invite-status-cancel-confirm")
    # an approver decides on one while the requester reads the confirmation
    approve(browser_system, ids[invitees[2]])
    page.get_by_role("button", name="Yes, cancel these requests").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Cancellations sent")
    expect(page.get_by_role("status")).to_contain_text("2 of 3 requests were cancelled.")
    results = page.get_by_role("table", name="What became of each request")
    expect(results.get_by_role("row").filter(has_text=invitees[0])).to_contain_text("Cancelled now")
    expect(results.get_by_role("row").filter(has_text=invitees[1])).to_contain_text("Cancelled now")
    expect(results.get_by_role("row").filter(has_text=invitees[2])).to_contain_text("Not cancelled: already approved")
    shoot_both(page, "invite-status-cancel-results")

    page.get_by_role("link", name="Back to invite status").first.click()
    for email in invitees[:2]:
        reload_until(page, status_cell(page, email, "TechPass state"), "Cancelled")
    expect(status_cell(page, invitees[3], "TechPass state")).to_have_text("Waiting for approval")
    expect(page.get_by_role("checkbox")).to_have_count(1)  # only the one left waiting can still be cancelled


def test_cancelling_every_pending_request_of_a_submitted_batch_from_its_page(page, browser_system):
    requester = "daniel.goh@tech.gov.sg"
    rows = [{"email": f"vendor{n}@vendor-c.example.com", "user_type": "vendor", "username": f"v-vendorc.{n}",
             "first_name": "Ah Hock", "last_name": f"Lim{n}", "contact_number": f"9123 45{n:02}",
             "organisation": "Vendor C Pte Ltd", "department": "", "seed_onboarding": "no", "offshore": "no",
             "reason": "Builds the payments service"} for n in range(5)]
    batch_id = submit_batch_by_api(browser_system, requester, rows)
    first = browser_system.call("GET", f"/api/v1/invites?batch={batch_id}&email={rows[0]['email']}", requester).json()
    approve(browser_system, first["items"][0]["id"])  # no longer pending: an approver has decided

    sign_in(page, requester)
    page.goto(f"/invite/batch/{batch_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your batch")
    cancel_all = page.get_by_role("link", name="Cancel every pending request in this batch (4)")
    shoot_both(page, "batch-submitted-cancel-pending")
    cancel_all.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel all 4 pending requests?")
    expect(page.get_by_text("The batch's other request has already been decided")).to_be_visible()
    expect(page.get_by_role("table", name="The requests to cancel").get_by_role("row")).to_have_count(5)  # and its head
    shoot_both(page, "batch-cancel-pending-confirm")
    page.get_by_role("link", name="No, keep them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite status")
    shoot_both(page, "invite-status-batch-cancel-pending")
    page.get_by_role("link", name="Cancel every pending request in this batch (4)").click()
    page.get_by_role("button", name="Yes, cancel these requests").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Cancellations sent")
    expect(page.get_by_role("status")).to_contain_text("4 of 5 requests were cancelled.")
    results = page.get_by_role("table", name="What became of each request")
    expect(results.get_by_role("row").filter(has_text=rows[0]["email"])).to_contain_text("Not cancelled: already approved")
    expect(results.get_by_role("row").filter(has_text="Cancelled now")).to_have_count(4)
    shoot_both(page, "batch-cancel-pending-results")

    # going back to the confirmation finds nothing left to cancel
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing to cancel in this batch")
    expect(page.get_by_role("button", name="Yes, cancel these requests")).to_have_count(0)

    page.get_by_role("link", name="Back to the batch's requests").first.click()
    for row in rows[1:]:
        reload_until(page, status_cell(page, row["email"], "TechPass state"), "Cancelled")
    expect(page.get_by_role("link", name=re.compile("Cancel every pending request"))).to_have_count(0)


def test_an_email_invitation_for_a_vendor_leads_to_create_account_with_what_was_typed(page):
    sign_in(page, "siti.a@tech.gov.sg")
    page.goto("/invite/email")
    page.get_by_label("Email address", exact=True).fill("john@vendor.com")
    page.get_by_role("group", name="Is onboarding to SEED required?").get_by_label("Yes", exact=True).check()
    page.get_by_label("Reason for the request").fill("Maintains the booking service")
    page.get_by_role("button", name="Continue").click()

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
    page.get_by_role("button", name="Continue").click()
    expect(field_error(page, "Contact number")).to_contain_text("9943 2920 is not a Singapore number in use: check the digits.")
    expect(page.get_by_label("Contact number")).to_have_value("99432920")
    shoot_both(page, "create-account-number-not-in-use", in_view="#contact_number-field")

"""An approver's day in the portal: the queue with its filters, a request approved with a comment, one
rejected with a reason, a page decided in bulk with mixed outcomes, no controls on their own request or
invitation; the same at 390 px wide, with screenshots.

Each test has requesters of its own (unique addresses) and filters the queue to them, since the queue
of the session's one system holds every test's waiting requests."""
from __future__ import annotations

import uuid

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.people import APPROVER, SECOND_APPROVER
from tests.browser.pages import Page, expect, history_titles, reload_until, sign_in, submit_by_api
from tests.browser.test_screenshots import SCREENSHOTS, shoot

NARROW = {"width": 390, "height": 844}


def officer(email: str, reason: str = "Joining the platform team", seed: bool = False) -> dict:
    return {"method": "email_invitation", "email": email, "seed_onboarding": seed, "reason": reason}


def fresh_requester() -> str:
    return f"req.{uuid.uuid4().hex[:8]}@tech.gov.sg"


def open_queue(page: Page, requester: str | None = None) -> None:
    """Go to the queue from the navigation, narrowed to one requester's requests when given."""
    link = page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Requests to approve")
    # the page's script, which makes the menu link a button, has run once the page has loaded
    page.wait_for_load_state("load")
    if not link.is_visible():  # a phone shows the navigation behind its menu button
        page.get_by_role("button", name="Menu").click()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Requests to approve")
    if requester:
        page.get_by_label("Requester email").fill(requester)
        page.get_by_role("button", name="Apply filters").click()


def requests_state(system, invite_id: str) -> str:
    response = system.call("GET", f"/api/v1/invites/{invite_id}", APPROVER)
    assert response.status_code == 200, response.text
    return response.json()["state"] if not response.json()["pending_decision"] else "pending"


def queue_emails(page: Page) -> list[str]:
    return page.get_by_role("table").get_by_role("link").all_inner_texts()


def test_an_approver_filters_the_queue_approves_one_with_a_comment_and_rejects_one_with_a_reason(page, browser_system):
    requester = fresh_requester()
    tag = uuid.uuid4().hex[:6]
    first = submit_by_api(browser_system, requester, officer(f"ann.{tag}@tech.gov.sg", "Runs the payroll migration"))
    second = submit_by_api(browser_system, requester, officer(f"ben.{tag}@tech.gov.sg", "Needs SEED for a laptop", seed=True))
    submit_by_api(browser_system, requester, officer(f"cai.{tag}@tech.gov.sg"))

    sign_in(page, APPROVER)
    expect(page.get_by_text("Requester, Approver")).to_be_visible()
    open_queue(page, requester)
    assert queue_emails(page) == [f"ann.{tag}@tech.gov.sg", f"ben.{tag}@tech.gov.sg", f"cai.{tag}@tech.gov.sg"]
    expect(page.get_by_text("Showing 1 to 3 of 3 matching requests")).to_be_visible()
    page.get_by_label("SEED onboarding").select_option("yes")
    page.get_by_role("button", name="Apply filters").click()
    assert queue_emails(page) == [f"ben.{tag}@tech.gov.sg"]
    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Invitee email contains").fill(f"ann.{tag}")
    page.get_by_role("button", name="Apply filters").click()
    assert queue_emails(page) == [f"ann.{tag}@tech.gov.sg"]

    # approve with a comment, from the request page
    page.get_by_role("link", name=f"ann.{tag}@tech.gov.sg").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request for ann.{tag}@tech.gov.sg")
    expect(page.get_by_role("definition").filter(has_text="Runs the payroll migration")).to_be_visible()
    expect(page.locator("dt", has_text="Expires on")).to_be_visible()
    page.get_by_label("Comment (optional)").fill("Welcome to the team")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text(f"You approved the request for ann.{tag}@tech.gov.sg")).to_be_visible()
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    browser_system.wait_for_state(first, "emailed")
    page.reload()
    assert history_titles(page) == ["Request submitted", "Approved", "TechPass account created", "Invitation emailed"]
    expect(page.get_by_role("list", name="History")).to_contain_text("Welcome to the team")

    # reject: a reason is required
    page.goto(f"/approvals/{second}")
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Give the reason for rejecting")
    page.get_by_label("Reason for rejecting").fill("SEED is not available for this team yet")
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(page.get_by_text(f"You rejected the request for ben.{tag}@tech.gov.sg")).to_be_visible()
    reload_until(page, page.get_by_role("list", name="History").get_by_role("heading", level=3).last, "Rejected")


def test_an_approver_decides_a_page_in_bulk_and_sees_what_became_of_each(page, browser_system):
    requester = fresh_requester()
    tag = uuid.uuid4().hex[:6]
    ids = [submit_by_api(browser_system, requester, officer(f"{name}.{tag}@tech.gov.sg")) for name in ("dee", "eli", "fay")]

    sign_in(page, APPROVER)
    open_queue(page, requester)
    page.get_by_label("Select all 3 on this page").check()
    for checkbox in page.get_by_role("table").get_by_role("checkbox").all():
        expect(checkbox).to_be_checked()
    page.get_by_label("Comment, or the reason for rejecting").fill("Approved for the platform team")
    page.get_by_role("button", name="Approve selected").click()
    # nothing is decided yet: the selected requests are listed to confirm
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve 3 selected requests?")
    assert all(requests_state(browser_system, i) == "submitted" for i in ids)
    # a colleague decides one of them while the confirmation is open
    taken = browser_system.call("POST", f"/api/v1/invites/{ids[1]}/approve", SECOND_APPROVER, json={"comment": "Mine"})
    assert taken.status_code == 202
    page.get_by_role("button", name="Yes, approve these 3 requests").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Approvals sent")
    expect(page.get_by_role("status")).to_contain_text("2 of 3 selected requests were approved")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows.filter(has_text=f"dee.{tag}@tech.gov.sg")).to_contain_text("Approved now")
    expect(rows.filter(has_text=f"eli.{tag}@tech.gov.sg")).to_contain_text("Not decided: already approved by another approver")
    expect(rows.filter(has_text=f"fay.{tag}@tech.gov.sg")).to_contain_text("Approved now")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shoot(page, "approvals-bulk-results")
    for invite_id in ids:
        browser_system.wait_for_state(invite_id, "emailed")


def test_an_approver_never_sees_controls_on_their_own_request_or_invitation(page, browser_system):
    tag = uuid.uuid4().hex[:6]
    own = submit_by_api(browser_system, APPROVER, officer(f"gus.{tag}@tech.gov.sg"))
    # someone asks for an account for the approver (an address of theirs at another agency)
    invites_approver = submit_by_api(browser_system, fresh_requester(), officer(APPROVER))

    sign_in(page, APPROVER)
    open_queue(page, APPROVER)
    expect(page.get_by_text("Nothing waits for your decision").or_(page.get_by_text("No requests match these filters"))).to_be_visible()
    for invite_id, why in ((own, "You made this request"), (invites_approver, "This request invites you")):
        page.goto(f"/approvals/{invite_id}")
        expect(page.get_by_text(why)).to_be_visible()
        expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name="Reject", exact=True)).to_have_count(0)
    # opening their own request from the status list shows the requester's page, with no decision controls either
    page.goto(f"/status/{own}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request for gus.{tag}@tech.gov.sg")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"the page is {width}px wide at {NARROW['width']}px"


def test_at_390px_rows_are_cards_and_the_pages_fit(page, browser_system):
    requester = fresh_requester()
    tag = uuid.uuid4().hex[:6]
    target = submit_by_api(browser_system, requester, {
        "method": "create_account", "email": f"victor.{tag}@tech.gov.sg", "user_type": "vendor", "username": f"v-victor{tag}",
        "first_name": "Victor", "last_name": "Tan", "contact_number": "+65 9123 4567", "organisation": "Example Pte Ltd",
        "seed_onboarding": True, "reason": "Builds the payments service; a long reason to see how it wraps on a phone",
    })
    for name in ("hana", "ivan.the.longest.name.in.the.team"):
        submit_by_api(browser_system, requester, officer(f"{name}.{tag}@tech.gov.sg"))
    page.set_viewport_size(NARROW)
    sign_in(page, APPROVER)
    open_queue(page, requester)
    first_row = page.get_by_role("table").get_by_role("row").nth(1)
    # a card: the cells stack, each with its label (waited for: on a busy machine the page is drawn
    # once before its stylesheet has been applied)
    try:
        page.wait_for_function(
            "([width]) => { const row = document.querySelectorAll('table tr')[1];"
            " const box = row && row.getBoundingClientRect(); return box && box.width <= width && box.height > 200; }",
            arg=[NARROW["width"]], timeout=10_000)
    except PlaywrightTimeout:
        pass
    box = first_row.bounding_box()
    assert box["width"] <= NARROW["width"] and box["height"] > 200, box
    no_sideways_scroll(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shoot(page, "approvals-queue-390")
    page.get_by_label(f"Select the request for hana.{tag}@tech.gov.sg").check()

    page.goto(f"/approvals/{target}")
    expect(page.get_by_text("A vendor with a public-officer address")).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, "approval-request-390")

    # the requester's status list: addresses stay whole at this width
    page.goto("/sign-in")
    page.get_by_label("Email address", exact=True).fill(requester)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto("/status")
    link = page.get_by_role("link", name=f"ivan.the.longest.name.in.the.team.{tag}@tech.gov.sg")
    height = link.bounding_box()["height"]
    assert height < 3 * 28, f"the address wraps into {height}px of lines"
    no_sideways_scroll(page)
    shoot(page, "invite-status-long-address-390")


def test_screenshots_of_the_approver_pages_at_full_width(page, browser_system):
    requester = "siti.n@tech.gov.sg"  # not the sample requester, whose overview is pictured too
    tag = uuid.uuid4().hex[:6]
    shown = submit_by_api(browser_system, requester, officer(f"nora.{tag}@tech.gov.sg", "Data analyst for the transport project", seed=True))
    submit_by_api(browser_system, "kumar.s@tech.gov.sg", officer(f"omar.{tag}@tech.gov.sg", "Joining the platform team"))
    sign_in(page, APPROVER)
    open_queue(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shoot(page, "approvals-queue")
    page.goto(f"/approvals/{shown}")
    shoot(page, "approval-request")


def test_at_390px_the_batch_review_table_leaves_room_for_the_fields_and_nothing_overlaps(page):
    from tests.browser.test_screenshots import BATCH_HEADINGS, BATCH_ROWS
    from tests.browser.pages import filled_in

    page.set_viewport_size(NARROW)
    sign_in(page, fresh_requester())
    page.goto("/invite/batch")
    page.get_by_label("Choose a file").set_input_files(
        {"name": "platform-team.csv", "mimeType": "text/csv", "buffer": filled_in(BATCH_HEADINGS, BATCH_ROWS)}
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your batch")
    no_sideways_scroll(page)
    row = page.get_by_role("table").get_by_role("row").nth(2)  # a row that needs attention
    # each row is a card: its number above its fields, each field the card's width, nothing beside another
    header, first_cell = row.get_by_role("rowheader").bounding_box(), row.get_by_role("cell").first.bounding_box()
    assert header["y"] + header["height"] <= first_cell["y"] + 1, (header, first_cell)
    assert first_cell["width"] >= 300, first_cell
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shoot(page, "batch-review-row-check-390")


def test_an_approver_goes_from_a_request_to_the_rest_of_its_batch_and_approves_them_together(page, browser_system):
    import requests

    from tests.browser.test_screenshots import BATCH_HEADINGS
    from tests.browser.pages import filled_in
    from tests.browser.screens import shoot_both

    requester = fresh_requester()
    tag = uuid.uuid4().hex[:6]
    rows = [{"email": f"{name}.{tag}@tech.gov.sg", "user_type": "Public officer", "first_name": name.title(),
             "last_name": "Tan", "contact_number": "+65 9123 4567", "organisation": "GovTech",
             "seed_onboarding": "no", "reason": "Joining the data team"} for name in ("gus", "hana", "ivan")]
    upload = requests.post(f"{browser_system.base}/api/v1/batches", headers={"X-Dev-User": requester}, timeout=10,
                           files={"file": ("data-team.csv", filled_in(BATCH_HEADINGS, rows), "text/csv")})
    assert upload.status_code == 201, upload.text
    submitted = browser_system.call("POST", f"/api/v1/batches/{upload.json()['id']}/submit", requester)
    assert submitted.status_code == 201, submitted.text

    sign_in(page, APPROVER)
    open_queue(page, requester)
    # the queue shows the upload as one row; its page lists the requests
    page.get_by_role("link", name=f"Batch of 3 from {requester}").click()
    page.get_by_role("link", name=f"hana.{tag}@tech.gov.sg").click()
    expect(page.get_by_text("From the batch upload “data-team.csv” (3 requests)")).to_be_visible()
    shoot_both(page, "approval-request-from-batch")
    page.get_by_role("link", name="See the 3 from this batch waiting for your decision").click()
    expect(page.locator("#batch-filter")).to_contain_text(f"“data-team.csv” by {requester}")
    assert sorted(queue_emails(page)) == sorted(r["email"] for r in rows)
    shoot_both(page, "approvals-queue-one-batch")
    page.get_by_label("Select all 3 on this page").check()
    page.get_by_role("button", name="Approve selected").click()
    page.get_by_role("button", name="Yes, approve these 3 requests").click()
    expect(page.get_by_role("status")).to_contain_text("3 of 3 selected requests were approved")


OFFSHORE = {"method": "create_account", "user_type": "vendor", "first_name": "Ola", "last_name": "Berg",
            "contact_number": "+47 912 34 567", "organisation": "Acme AS", "offshore": True, "seed_onboarding": True,
            "reason": "Maintains the booking system from Oslo"}


def test_an_approver_sees_each_requests_warnings_in_the_queue_and_confirms_a_bulk_approval_that_lists_them(page, browser_system):
    requester = fresh_requester()
    tag = uuid.uuid4().hex[:6]
    offshore = submit_by_api(browser_system, requester, OFFSHORE | {"email": f"ola.{tag}@acme.example.com",
                                                                    "username": f"v-ola{tag}"})
    plain = submit_by_api(browser_system, requester, officer(f"pia.{tag}@tech.gov.sg"))
    for width, name in ((1280, "approvals-queue-warnings"), (NARROW["width"], "approvals-queue-warnings-390")):
        page.set_viewport_size({"width": width, "height": 900 if width == 1280 else NARROW["height"]})
        if width == 1280:
            sign_in(page, APPROVER)
        open_queue(page, requester)
        rows = page.get_by_role("table").get_by_role("row")
        expect(rows.filter(has_text=f"ola.{tag}@acme.example.com")).to_contain_text("Check before deciding")
        expect(rows.filter(has_text=f"ola.{tag}@acme.example.com")).to_contain_text("An offshore vendor")
        expect(rows.filter(has_text=f"pia.{tag}@tech.gov.sg")).not_to_contain_text("Check before deciding")
        if width != 1280:
            no_sideways_scroll(page)
        shoot(page, name)

        page.get_by_label("Select all 2 on this page").check()
        page.get_by_role("button", name="Approve selected").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Approve 2 selected requests?")
        confirm_rows = page.get_by_role("table", name="The requests you are about to approve").get_by_role("row")
        expect(confirm_rows.filter(has_text=f"ola.{tag}@acme.example.com")).to_contain_text("An offshore vendor")
        expect(confirm_rows.filter(has_text=f"pia.{tag}@tech.gov.sg")).to_contain_text("No warnings")
        if width != 1280:
            no_sideways_scroll(page)
        shoot(page, name.replace("queue-warnings", "bulk-confirm"))
        # nothing was decided by the first click
        assert requests_state(browser_system, offshore) == "submitted" and requests_state(browser_system, plain) == "submitted"
        if width == 1280:
            page.get_by_role("link", name="No, go back to the queue").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Requests to approve")
    page.get_by_role("button", name="Yes, approve these 2 requests").click()
    expect(page.get_by_role("status")).to_contain_text("2 of 2 selected requests were approved")


def test_a_bulk_rejection_without_a_reason_names_the_selected_requests_that_left_the_queue(page, browser_system):
    requester = fresh_requester()
    tag = uuid.uuid4().hex[:6]
    ids = [submit_by_api(browser_system, requester, officer(f"{name}.{tag}@tech.gov.sg")) for name in ("kai", "lea")]
    sign_in(page, APPROVER)
    open_queue(page, requester)
    page.get_by_label("Select all 2 on this page").check()
    # the requester cancels one while the page is open
    assert browser_system.call("POST", f"/api/v1/invites/{ids[1]}/cancel", requester).status_code == 202
    page.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_role("alert")).to_contain_text("Give the reason for rejecting")
    note = page.locator("#left-queue")
    expect(note).to_contain_text("1 of the requests you selected left the queue meanwhile")
    expect(note).to_contain_text(f"lea.{tag}@tech.gov.sg: cancelled by its requester")
    expect(page.get_by_label(f"Select the request for kai.{tag}@tech.gov.sg")).to_be_checked()
    shoot(page, "approvals-bulk-left-queue")
    page.set_viewport_size(NARROW)
    expect(note).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, "approvals-bulk-left-queue-390")


def test_the_request_page_reads_in_order_follows_a_decision_by_itself_and_leads_to_the_next_request(page, browser_system):
    requester = fresh_requester()
    tag = uuid.uuid4().hex[:6]
    first = submit_by_api(browser_system, requester, OFFSHORE | {"email": f"max.{tag}@acme.example.com",
                                                                 "username": f"v-max{tag}"})
    sign_in(page, APPROVER)
    for width, name in ((1280, "approval-request-order"), (NARROW["width"], "approval-request-order-390")):
        page.set_viewport_size({"width": width, "height": 900 if width == 1280 else NARROW["height"]})
        page.goto(f"/approvals/{first}")
        asked = page.get_by_role("heading", name="What was asked").bounding_box()
        warned = page.get_by_role("heading", name="Check before deciding").bounding_box()
        decide = page.get_by_role("heading", name="Your decision").bounding_box()
        assert asked["y"] < warned["y"] < decide["y"], (asked, warned, decide)
        if width != 1280:
            no_sideways_scroll(page)
        shoot(page, name)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text(f"You approved the request for max.{tag}@acme.example.com")).to_be_visible()
    # no reload from here: the page follows the decision by itself, as the requester's does (approval
    # may also have applied it before the page came back, which then shows it settled already)
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("[data-status-panel][data-settling]")).to_have_count(0, timeout=60_000)
    expect(page.get_by_text("This page updates by itself")).to_have_count(0)
    expect(page.locator("[data-status-panel] dd").first).not_to_have_text("Waiting for approval")
    assert page.evaluate("window.stillTheSamePage === true")
    next_link = page.locator("#next-request")
    expect(next_link).to_be_visible()
    shoot(page, "approval-request-decided")
    page.set_viewport_size(NARROW)
    expect(next_link).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, "approval-request-decided-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    # the next request waiting (another test's, perhaps) may be decided by this approver; none waiting says so
    link = next_link.get_by_role("link", name="Next request")
    if link.count():
        link.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Request for")
        expect(page.get_by_role("button", name="Approve", exact=True)).to_be_visible()
    else:
        expect(next_link).to_contain_text("the queue is empty")

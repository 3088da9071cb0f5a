"""The auditor's pages in Chromium: find a request by part of the invitee's email, read its
timeline, export it, see the integrity check pass, then name an entry changed by hand.
Screenshots at 1280 px and 390 px wide go to docs/screenshots with SCREENSHOTS=update."""
import csv
import io
import json
import re
import sqlite3
import uuid

from tests.browser.pages import Page, approve, expect, reject, submit_by_api
from tests.browser.test_screenshots import SCREENSHOTS

AUDITOR = "carol@tech.gov.sg"
REQUESTER = "amy@tech.gov.sg"


def shoot_both_widths(page: Page, name: str) -> None:
    """Save the page at 1280 px and at 390 px wide (a phone), then go back to the wide view."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, suffix in ((1280, ""), (390, "-390")):
        page.set_viewport_size({"width": width, "height": 900})
        page.mouse.move(0, 0)
        page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=True, animations="disabled", caret="hide")
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_in_as_auditor(page: Page) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address", exact=True).fill(AUDITOR)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit history")


def test_auditor_finds_reads_exports_and_checks_a_request(page, browser_system):
    tag = uuid.uuid4().hex[:6]
    vendor = submit_by_api(browser_system, REQUESTER, {
        "method": "create_account", "email": f"vic.{tag}@vendor.example.com", "user_type": "vendor",
        "username": f"v-vic{tag}", "first_name": "Vic", "last_name": "Lim", "contact_number": "+65 9123 4567",
        "organisation": "Example Pte Ltd", "seed_onboarding": True,
        "reason": "=HYPERLINK(\"http://evil.example\",\"Builds the payments service\")"})
    other = submit_by_api(browser_system, REQUESTER, {"method": "email_invitation", "email": f"ken.{tag}@tech.gov.sg",
                                              "seed_onboarding": False, "reason": "Analyst"})
    approve(browser_system, vendor, "Vendor contract signed")
    reject(browser_system, other, "Already has an account")
    browser_system.wait_for_state(vendor, "emailed")
    browser_system.wait_for_state(other, "rejected")

    sign_in_as_auditor(page)
    expect(page.get_by_role("link", name="Invite users", exact=True)).to_have_count(0)  # nothing that changes anything
    page.get_by_label("Invitee email contains").fill(f"VIC.{tag}")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#result-count")).to_have_text("Showing 1 to 1 of 1 request")
    shoot_both_widths(page, "audit-search")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    raw = open(csv_download.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # so a spreadsheet reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r["Event"] for r in rows] == ["Request submitted", "Approved", "TechPass account created",
                                          "SEED enrolment booked", "Invitation emailed"]
    assert rows[0]["Comment or reason"].startswith("'=HYPERLINK(")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[0]["Time (SGT)"])
    with page.expect_download() as jsonl_download:
        page.get_by_role("link", name="Export JSON Lines").click()
    lines = open(jsonl_download.value.path(), encoding="utf-8").read().splitlines()
    assert json.loads(lines[0])["note"].startswith("=HYPERLINK(") and len(lines) == 5

    page.get_by_role("link", name=f"vic.{tag}@vendor.example.com").click()
    timeline = page.get_by_role("list", name="Everything recorded (Singapore time, SGT)")
    expect(timeline.get_by_role("heading", level=3)).to_have_text([
        "Request submitted", "Approved", "TechPass account created", "SEED enrolment booked",
        "Invitation emailed"])
    expect(timeline).to_contain_text("Vendor contract signed")
    expect(timeline).to_contain_text("Email Message-ID:")
    expect(page.locator("form[method=post] button", has_text="Cancel")).to_have_count(0)
    shoot_both_widths(page, "audit-timeline")

    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Integrity").click()
    for _ in range(20):  # the linker chains new entries within a second
        if "not chained yet" not in page.content() and "Intact" in page.locator("#integrity-result").inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("#integrity-result")).to_contain_text("Intact,")
    expect(page.locator("#integrity-result")).to_contain_text("entries checked, last signed head at")
    shoot_both_widths(page, "audit-integrity")

    # someone edits one stored history value by hand: the check names that entry
    db = sqlite3.connect(browser_system.env["INTAKE_DB_URL"].split(":///", 1)[1])
    try:
        entry_id, note = db.execute("SELECT id, note FROM history_entry WHERE request_id = ? AND event = 'approve'",
                                    (vendor,)).fetchone()
        with db:
            db.execute("UPDATE history_entry SET note = 'Approved after checks' WHERE id = ?", (entry_id,))
        page.reload()
        expect(page.locator("#integrity-result")).to_contain_text(f"(entry {entry_id})")
        expect(page.get_by_role("alert")).to_contain_text("Not intact")
        steps = page.locator("h2#next-steps + p + ol")
        expect(page.get_by_role("heading", name="What to do now")).to_be_visible()
        expect(steps).to_contain_text("Keep the evidence.")
        expect(steps).to_contain_text("python -m intake audit verify with --json")
        shoot_both_widths(page, "audit-integrity-failed")
        page.locator("#bad-entry-link").click()
        expect(page).to_have_url(re.compile(rf"/audit/requests/{vendor}#entry-{entry_id}$"))
        expect(page.locator(f"#entry-{entry_id}")).to_contain_text("Approved after checks")
        page.go_back()
    finally:
        with db:
            db.execute("UPDATE history_entry SET note = ? WHERE id = ?", (note, entry_id))
        db.close()
    page.reload()
    expect(page.locator("#integrity-result")).to_contain_text("Intact,")


def test_requesters_and_approvers_cannot_open_the_audit_pages(page, browser_system):
    for email in (REQUESTER, "bob@tech.gov.sg"):
        page.context.clear_cookies()
        page.goto("/sign-in")
        page.get_by_label("Email address", exact=True).fill(email)
        page.get_by_role("button", name="Sign in", exact=True).click()
        for path in ("/audit", "/audit/integrity", "/audit/export.csv", "/audit/roles"):
            response = page.goto(path)
            assert response.status == 403, (email, path)


def test_an_auditor_finds_requests_by_part_of_the_requesters_address_as_the_hint_says(page, browser_system):
    tag = uuid.uuid4().hex[:8]
    requester = f"amy.{tag}@tech.gov.sg"
    invitee = f"tess.{tag}@tech.gov.sg"
    submit_by_api(browser_system, requester, {"method": "email_invitation", "email": invitee,
                                              "seed_onboarding": False, "reason": "Joining the audit team"})
    sign_in_as_auditor(page)
    field = page.get_by_label("Requester email contains")
    expect(field).to_have_accessible_description("Part of an address, such as amy or @tech.gov.sg")
    expect(page.get_by_label("Invitee email contains")).to_have_accessible_description(
        "Part of an address, such as amy or @vendor.com")
    field.fill(f"AMY.{tag}")  # part of the address, in another case
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=invitee)).to_be_visible()
    shoot_both_widths(page, "audit-requester-part")


def test_auditor_finds_a_role_change_reads_its_page_and_is_led_to_it_when_it_fails_the_check(page, browser_system):
    sign_in_as_auditor(page)
    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Role changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Role changes")
    page.get_by_label("Person's email").fill(AUDITOR.upper())
    page.get_by_label("Changed by (email)").fill("ROLE_GRANTS")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#result-count")).to_have_text("Showing 1 to 1 of 1 role change")
    shoot_both_widths(page, "audit-roles")

    # the link says which change it opens, to a screen reader too ("Role granted: Auditor for ...")
    page.get_by_role("link", name=re.compile(rf"^Role granted\s*: Auditor for {re.escape(AUDITOR)}$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Role granted: Auditor for {AUDITOR}")
    entry_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("dl")).to_contain_text("Granted by")
    shoot_both_widths(page, "audit-role-change")
    role_page = page.url

    db = sqlite3.connect(browser_system.env["INTAKE_DB_URL"].split(":///", 1)[1])
    try:
        note = db.execute("SELECT note FROM history_entry WHERE id = ?", (entry_id,)).fetchone()[0]
        for _ in range(20):  # the linker chains new entries within a second
            if db.execute("SELECT chain_seq FROM history_entry WHERE id = ?", (entry_id,)).fetchone()[0]:
                break
            page.wait_for_timeout(500)
        with db:
            db.execute("UPDATE history_entry SET note = 'admin carol@tech.gov.sg' WHERE id = ?", (entry_id,))
        page.goto("/audit/integrity")
        expect(page.get_by_role("alert")).to_contain_text("Not intact")
        link = page.locator("#bad-entry-link")
        expect(link).to_have_text(f"Entry {entry_id}: the role change as recorded now")
        link.click()
        assert page.url == role_page
    finally:
        with db:
            db.execute("UPDATE history_entry SET note = ? WHERE id = ?", (note, entry_id))
        db.close()

"""Working through a batch: getting back to it, clearing many bad rows, staying at the row worked on,
problems that link to what they name, and the requests listed in the file's order."""
import re

import pytest

from tests.support.chromium import ACTION_TIMEOUT_MS
from tests.browser.pages import Page, expect, filled_in, sign_in, submit_by_api
from tests.browser.screens import shoot_both
from tests.browser.test_batch_upload import open_batch_upload, upload

HEADINGS = [
    "email", "user_type", "username", "first_name", "last_name", "contact_number", "organisation", "department",
    "seed_onboarding", "offshore", "reason",
]


def officer(email: str, **changes) -> dict:
    row = {"email": email, "user_type": "public_officer", "username": "", "first_name": "Wei", "last_name": "Ling",
           "contact_number": "9123 4567", "organisation": "GovTech", "department": "", "seed_onboarding": "no",
           "offshore": "no", "reason": "Joining the platform team"}
    return row | changes


@pytest.fixture
def wide_page_without_javascript(browser, browser_system):
    ctx = browser.new_context(base_url=browser_system.base, viewport={"width": 1280, "height": 900}, locale="en-SG",
                              timezone_id="Asia/Singapore", java_script_enabled=False)
    ctx.set_default_timeout(ACTION_TIMEOUT_MS)
    yield ctx.new_page()
    ctx.close()


def row_header(page: Page, number: int):
    return page.locator(f"#row-{number}")


def test_an_unfinished_batch_is_listed_on_the_overview_and_upload_page_until_submitted(page):
    sign_in(page, "hui.min@tech.gov.sg")
    open_batch_upload(page)
    rows = [officer("a.tan@tech.gov.sg"), officer("b.tan@tech.gov.sg", contact_number="12"), officer("c.tan@tech.gov.sg")]
    upload(page, "new-joiners.csv", filled_in(HEADINGS, rows))

    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Overview").click()
    drafts = page.get_by_role("region", name="Batches you have not submitted yet")
    expect(drafts).to_contain_text("Continue checking new-joiners.csv")
    expect(drafts).to_contain_text("1 of 3 rows needs attention")
    expect(drafts).to_contain_text(re.compile(r"uploaded \d+ \w+ \d{4}, \d+:\d\d [ap]m SGT"))
    shoot_both(page, "overview-open-batch")

    page.goto("/invite/batch")
    page.get_by_role("link", name="Continue checking new-joiners.csv").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your batch")
    expect(page).to_have_url(re.compile(r"attention=1"))  # straight to the rows to fix

    page.get_by_role("link", name="Remove the rows that need attention").click()
    page.get_by_role("button", name="Yes, remove 1 row").click()
    page.get_by_role("button", name="Submit 2 requests").click()
    page.goto("/")
    expect(page.get_by_role("region", name="Batches you have not submitted yet")).to_have_count(0)


def test_many_bad_rows_go_in_one_confirmed_step_and_edits_return_to_the_row(page):
    sign_in(page, "farah.ali@tech.gov.sg")
    open_batch_upload(page)
    # 40 rows: every fourth one is fine, the other 30 have a contact number that is not one
    rows = [officer(f"joiner{n:02d}@tech.gov.sg", contact_number="9123 4567" if n % 4 == 0 else "12")
            for n in range(40)]
    upload(page, "forty.csv", filled_in(HEADINGS, rows))
    expect(page.get_by_text("40 rows, 30 need attention.")).to_be_visible()

    # removing one row deep in the list says so at the top of the page, where focus goes, and offers to undo it
    row_header(page, 20).get_by_role("button", name="Remove row 20").click()
    removed = page.get_by_role("alert").filter(has_text="Row 20 was removed. 39 rows are left.")
    expect(removed).to_be_focused()
    expect(removed).to_be_in_viewport()
    expect(row_header(page, 20)).to_have_count(0)
    shoot_both(page, "batch-row-removed-undo")
    removed.get_by_role("button", name="Undo the removal of row 20").click()
    expect(page.get_by_role("alert").filter(has_text="Row 20 is back in the batch, as it was.")).to_be_focused()
    expect(page.get_by_text("40 rows, 30 need attention.")).to_be_visible()
    ids = page.locator("tbody tr").evaluate_all("rows => rows.map(row => row.id)")
    assert ids.index("row-20") == ids.index("row-19") + 1, ids  # back in its place

    # a fix comes back to the row: save row 31, land on row 31
    row_header(page, 31).get_by_role("link", name="Edit row 31").click()
    expect(page).to_have_title("Edit row 31 – Invite Users")  # no "Error:" before anything was sent
    page.get_by_label("Contact number", exact=True).fill("8123 4567")
    page.get_by_role("button", name="Save row 31").click()
    expect(page).to_have_url(re.compile(r"#row-31$"))
    expect(row_header(page, 31)).to_be_in_viewport()
    shoot_both(page, "batch-review-back-at-row", in_view="#row-31")

    page.get_by_role("link", name="Remove the rows that need attention").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove 29 rows that need attention?")
    expect(page.get_by_text("29 have other problems:")).to_be_visible()
    expect(page.get_by_text("The other 11 rows stay.", exact=False)).to_be_visible()
    shoot_both(page, "batch-remove-rows-needing-attention")
    page.get_by_role("button", name="Yes, remove 29 rows").click()

    done = page.get_by_role("alert").filter(has_text="11 rows are left.")
    expect(done).to_be_focused()
    expect(page.get_by_text("11 rows, 0 need attention.")).to_be_visible()


def test_removing_rows_needing_attention_keeps_the_first_copy_and_undo_works_without_javascript(wide_page_without_javascript):
    page = wide_page_without_javascript
    sign_in(page, "omar.r@tech.gov.sg")
    page.goto("/invite/batch")
    rows = [officer("dup.one@tech.gov.sg"), officer("fine@tech.gov.sg"), officer("dup.one@tech.gov.sg"),
            officer("bad.number@tech.gov.sg", contact_number="12"), officer("dup.one@tech.gov.sg")]
    upload(page, "copies.csv", filled_in(HEADINGS, rows))
    expect(page.get_by_text("5 rows, 4 need attention.")).to_be_visible()

    page.get_by_role("link", name="Remove the rows that need attention").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove 3 rows that need attention?")
    expect(page.get_by_text("2 are later copies of someone already in the batch")).to_contain_text(
        "rows 4 and 6. The first copy of each person stays.")
    expect(page.get_by_text("1 has other problems: row 5.")).to_be_visible()
    shoot_both(page, "batch-remove-copies-confirm")
    page.get_by_role("button", name="Yes, remove 3 rows").click()

    removed = page.get_by_role("alert").filter(has_text="Rows 4, 5 and 6 were removed.")
    expect(removed).to_contain_text("2 were later copies of someone already in the batch (the first copy stays) "
                                    "and 1 had other problems. 2 rows are left.")
    expect(page.get_by_text("2 rows, 0 need attention.")).to_be_visible()
    expect(row_header(page, 2)).to_contain_text("dup.one@tech.gov.sg")  # the person is still in the batch
    shoot_both(page, "batch-removed-with-undo")

    removed.get_by_role("button", name="Undo the removal of these 3 rows").click()
    expect(page.get_by_role("alert").filter(has_text="Rows 4, 5 and 6 are back in the batch, as they were.")).to_be_visible()
    expect(page.get_by_text("5 rows, 4 need attention.")).to_be_visible()
    ids = page.locator("tbody tr").evaluate_all("rows => rows.map(row => row.id)")
    assert ids == ["row-2", "row-3", "row-4", "row-5", "row-6"], ids


def test_a_submitted_batch_lists_its_requests_in_the_files_row_order(page):
    sign_in(page, "yusof.h@tech.gov.sg")
    open_batch_upload(page)
    emails = [f"{name}.k@tech.gov.sg" for name in ("zara", "adam", "mona", "bala", "kira", "eli")]
    upload(page, "ordered.csv", filled_in(HEADINGS, [officer(e) for e in emails]))
    page.get_by_role("button", name="Submit 6 requests").click()

    expect(page.get_by_text("6 requests sent for approval.")).to_be_visible()
    listed = page.get_by_role("table").get_by_role("link").all_inner_texts()
    assert listed == emails
    rows = page.get_by_role("table").get_by_role("rowheader").all_inner_texts()
    assert [r.strip() for r in rows] == ["2", "3", "4", "5", "6", "7"]  # the file's row numbers
    shoot_both(page, "batch-requests-in-file-order")


def test_problems_name_a_damaged_workbook_and_link_an_open_request_only_for_its_own_requester(page, browser_system):
    requester = "grace.lee@tech.gov.sg"
    own = submit_by_api(browser_system, requester, {"method": "email_invitation", "email": "own.open@tech.gov.sg",
                                            "seed_onboarding": False, "reason": "Joining"})
    submit_by_api(browser_system, "someone.else@tech.gov.sg", {"method": "email_invitation", "email": "their.open@tech.gov.sg",
                                                       "seed_onboarding": False, "reason": "Joining"})
    sign_in(page, requester)
    open_batch_upload(page)

    # a damaged workbook is called what it is, not "not a text file ... UTF-8 nor Windows-1252"
    page.get_by_label("Choose a file").set_input_files(
        {"name": "team.xlsx", "mimeType": "application/octet-stream", "buffer": bytes(range(256)) * 20}
    )
    page.get_by_role("button", name="Upload and check").click()
    problem = page.locator("#file-error")
    expect(problem).to_contain_text("This Excel workbook cannot be opened")
    expect(problem).not_to_contain_text("text file")
    expect(problem).not_to_contain_text("UTF-8")
    shoot_both(page, "batch-workbook-cannot-be-opened")

    upload(page, "clashes.csv", filled_in(HEADINGS, [officer("own.open@tech.gov.sg"), officer("their.open@tech.gov.sg")]))

    table = page.get_by_role("table")
    expect(table).to_contain_text("An open request for this email already exists.")
    expect(table).not_to_contain_text("(request ")  # no raw ids
    links = table.get_by_role("link", name=re.compile("View the open request"))
    expect(links).to_have_count(1)
    shoot_both(page, "batch-open-request-linked")
    links.click()
    expect(page).to_have_url(re.compile(rf"/status/{own}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Request for own.open@tech.gov.sg")


def test_a_vendor_row_at_a_public_officer_address_needs_a_tick_before_the_batch_goes(page):
    sign_in(page, "nadia.k@tech.gov.sg")
    open_batch_upload(page)
    vendor = officer("dev.vendor@tech.gov.sg", user_type="vendor", username="v-dev.vendor", organisation="Vendor Pte Ltd")
    upload(page, "vendors.csv", filled_in(HEADINGS, [officer("ok.officer@tech.gov.sg"), vendor]))

    expect(page.locator("#row-3")).to_contain_text("Vendor with a public officer address")
    page.get_by_role("button", name="Submit 2 requests").click()
    expect(page.get_by_role("alert")).to_contain_text("Row 3 asks for a vendor with a public officer email address")
    shoot_both(page, "batch-vendor-officer-address")
    page.get_by_label(re.compile("I have checked row 3")).check()
    page.get_by_role("button", name="Submit 2 requests").click()
    expect(page.get_by_text("2 requests sent for approval.")).to_be_visible()


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


def test_every_rows_problem_is_in_view_at_1280_and_each_row_is_a_whole_card_at_390(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "lim.wei@tech.gov.sg")
    open_batch_upload(page)
    rows = [officer("ok.one@tech.gov.sg"), officer("bad.phone@tech.gov.sg", contact_number="12"),
            officer("bad.seed@tech.gov.sg", seed_onboarding="maybe"), officer("no.surname@tech.gov.sg", last_name="")]
    upload(page, "problems.csv", filled_in(HEADINGS, rows))

    # 1280: a compact table that fits its column; each problem written out in its row, Edit and Remove in view
    table = page.get_by_role("table")
    wrap = page.locator(".table-wrap")
    assert table.evaluate("t => t.scrollWidth") <= wrap.evaluate("w => w.clientWidth"), "the table scrolls sideways"
    expect(page.get_by_text("Choose Edit to see and change all of a row’s details.")).to_be_visible()
    for number, problem in ((3, "Contact number (“12”): "), (4, "SEED onboarding (“maybe”): "), (5, "Last name: ")):
        problems = row_header(page, number).locator("td[data-label='Problems']")
        expect(problems).to_contain_text(problem)
        for shown in (problems, row_header(page, number).get_by_role("button", name=f"Remove row {number}")):
            box = shown.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, box  # nothing off to the side
    sticky = page.locator(".table--batch *").evaluate_all(
        "cells => cells.filter(c => getComputedStyle(c).position === 'sticky').length")
    assert sticky == 0, "a sticky cell would cover the data scrolled under it"
    no_sideways_scroll(page)
    shoot_both(page, "batch-review-problems")

    # 390: each row a card with every field, its problems, and Edit and Remove, nothing off to the side
    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    card = row_header(page, 3)
    for label in ("Email address", "Name", "Problems", "User type", "TechPass username", "Contact number",
                  "Organisation", "Department", "SEED onboarding", "Offshore vendor", "Reason"):
        field = card.locator(f"td[data-label='{label}']")
        expect(field).to_be_visible()
        box = field.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (label, box)
    expect(card.locator("td[data-label='Contact number']")).to_contain_text("12")
    expect(card.locator("td[data-label='Problems']")).to_contain_text("Contact number (“12”): ")
    for name in ("Edit row 3", "Remove row 3"):
        action = card.get_by_role("link", name=name).or_(card.get_by_role("button", name=name))
        expect(action).to_be_visible()
        box = action.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)

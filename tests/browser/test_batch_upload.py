"""Batch upload: the template, a file with problems, fixing and removing rows, submitting, and starting again."""
import csv
import re

from tests.browser.pages import Page, expect, filled_in, sign_in, status_cell
from tests.browser.screens import shoot_both


def open_batch_upload(page: Page) -> None:
    page.get_by_role("navigation", name="Invite Users").get_by_role("link", name="Invite users").click()
    page.get_by_role("link", name="Batch upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Batch upload")


def download_csv_template(page: Page) -> list[str]:
    """Download the CSV template from the page and return its headings."""
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the CSV template").click()
    assert download.value.suggested_filename == "invite-requests-template.csv"
    with open(download.value.path(), encoding="utf-8-sig", newline="") as template:
        rows = list(csv.reader(template))
    assert len(rows) == 1, rows  # the headings only
    return rows[0]


def upload(page: Page, name: str, content: bytes) -> None:
    page.get_by_label("Choose a file").set_input_files({"name": name, "mimeType": "text/csv", "buffer": content})
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your batch")


def cell(page: Page, row: int, column: str):
    """The review table's cell for a row of the file and a column shown (the row's problems are in "Problems")."""
    headers = [h.strip() for h in page.get_by_role("columnheader").all_inner_texts()]
    number = page.get_by_role("rowheader", name=re.compile(rf"^Row {row}( Needs attention)?$"))
    table_row = page.get_by_role("row").filter(has=number)
    # The row's first column is its header (the row number), so cells start one column later.
    return table_row.get_by_role("cell").nth(headers.index(column) - 1)


VENDOR = {
    "email": "tan.ah.kow@vendor-a.example.com", "user_type": "vendor", "username": "v-tan.ahkow", "first_name": "Ah Kow",
    "last_name": "Tan", "contact_number": "9123 4567", "organisation": "Vendor A Pte Ltd", "department": "",
    "seed_onboarding": "yes", "offshore": "no", "reason": "Builds the booking service",
}
SAME_VENDOR_AGAIN = VENDOR | {"username": "v-ahkow.tan"}
OFFICER_WITH_BAD_NUMBER = {
    "email": "siti.aminah@tech.gov.sg", "user_type": "public_officer", "username": "", "first_name": "Siti",
    "last_name": "Aminah", "contact_number": "12345", "organisation": "GovTech", "department": "Platform",
    "seed_onboarding": "no", "offshore": "no", "reason": "Joining the platform team",
}


def test_batch_with_a_bad_row_and_a_duplicate_is_fixed_on_the_page_then_submitted_as_one_request_per_row(page):
    sign_in(page, "kumar.s@tech.gov.sg")
    open_batch_upload(page)
    headings = download_csv_template(page)
    upload(page, "new-joiners.csv", filled_in(headings, [VENDOR, SAME_VENDOR_AGAIN, OFFICER_WITH_BAD_NUMBER]))

    expect(page.get_by_text("3 rows, 3 need attention.")).to_be_visible()
    # Each row states its problems in full, naming the column, so none is in a cell out of view.
    expect(cell(page, 2, "Problems")).to_contain_text("Email address: The same email address is also on row 3.")
    expect(cell(page, 3, "Problems")).to_contain_text("Email address: The same email address is also on row 2.")
    expect(cell(page, 4, "Problems")).to_contain_text("Contact number (“12345”): A Singapore number has 8 digits; you entered 5.")
    expect(cell(page, 4, "Problems")).not_to_contain_text("also on row")

    page.get_by_role("button", name="Remove row 3").click()
    removed = page.get_by_role("alert").filter(has_text="Row 3 was removed. 2 rows are left.")
    expect(removed).to_be_focused()
    expect(removed).to_be_in_viewport()
    expect(page.get_by_text("2 rows, 1 needs attention.")).to_be_visible()
    expect(cell(page, 2, "Problems")).to_have_text("None: ready to submit")

    # Submit is never disabled: pressed while a row needs attention, it sends nothing and lists the rows to fix.
    submit = page.get_by_role("button", name="Submit 2 requests")
    expect(submit).to_be_enabled()
    expect(submit).not_to_have_attribute("aria-disabled", "true")
    submit.click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("1 row needs attention before the batch can be submitted. Nothing was submitted.")
    expect(page).to_have_title(re.compile(r"^Error: Check your batch"))
    shoot_both(page, "batch-submit-refused")
    summary.get_by_role("link", name=re.compile(r"^Row 4: Contact number: A Singapore number has 8 digits")).click()
    expect(page.locator("#row-4")).to_be_focused()
    expect(page.locator("#row-4")).to_be_in_viewport()

    page.get_by_role("link", name="Edit row 4").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit row 4")
    expect(page.get_by_label("Contact number")).to_have_value("12345")
    page.get_by_label("Contact number").fill("8123 4567")
    page.get_by_role("button", name="Save row 4").click()
    expect(page.get_by_role("alert")).to_contain_text("Row 4 is ready to submit.")

    page.get_by_role("link", name="All rows (2)").click()
    expect(page.get_by_text("2 rows, 0 need attention.")).to_be_visible()
    page.get_by_role("button", name="Submit 2 requests").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Invite status")
    expect(page.get_by_role("alert")).to_contain_text("2 requests sent for approval.")
    expect(page.get_by_text("Showing the requests from the batch upload new-joiners.csv")).to_be_visible()
    expect(page.get_by_text("Showing 1 to 2 of 2 requests")).to_be_visible()
    for email in (VENDOR["email"], OFFICER_WITH_BAD_NUMBER["email"]):
        expect(status_cell(page, email, "TechPass state")).to_have_text("Waiting for approval")
        expect(status_cell(page, email, "Method")).to_have_text("Create account (batch)")


def test_removing_every_row_asks_to_confirm_and_keeps_them_when_told_no(page):
    sign_in(page, "grace.ho@tech.gov.sg")
    open_batch_upload(page)
    headings = download_csv_template(page)
    rows = [
        VENDOR | {"email": "ravi@vendor-b.example.com", "username": "v-ravi.b"},
        OFFICER_WITH_BAD_NUMBER | {"email": "alan.goh@tech.gov.sg", "contact_number": "9876 5432"},
    ]
    upload(page, "second-try.csv", filled_in(headings, rows))
    expect(page.get_by_text("2 rows, 0 need attention.")).to_be_visible()
    review_url = page.url

    page.get_by_role("link", name="Remove all rows and start again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove all 2 rows?")
    page.get_by_role("link", name="No, keep them").click()
    expect(page.get_by_text("2 rows, 0 need attention.")).to_be_visible()

    page.get_by_role("link", name="Remove all rows and start again").click()
    page.get_by_role("button", name="Yes, remove all rows").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Batch upload")
    expect(page.get_by_role("alert")).to_contain_text("All rows of second-try.csv were removed.")

    page.goto(review_url)
    expect(page.get_by_text("There are no rows left in this batch.")).to_be_visible()

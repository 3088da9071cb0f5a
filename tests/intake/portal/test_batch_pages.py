"""Batch upload pages: template, upload, review with errors beside cells, edit, remove, reset, submit."""
import io
import re

import pytest

from intake.models import InviteRequest
from tests.support.portal_html import banner, checked_value, field_error, input_value, text

HEADINGS = "email,user_type,username,first_name,last_name,contact_number,organisation,department,seed_onboarding,offshore,reason"
GOOD = "vic@vendor.example.com,vendor,v-vic.lim,Vic,Lim,91234567,Example Pte Ltd,,no,no,Contractor"
BAD = "tan@tech.gov.sg,Public officer,,Tan,Ah Kow,91234568,GovTech,,maybe,,New joiner"


def upload(client, *lines, headings=HEADINGS, name="people.csv"):
    data = ("\r\n".join((headings, *lines)) + "\r\n").encode()
    return client.post("/invite/batch", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_templates_download_from_the_portal(amy_session):
    csv = amy_session.get("/invite/batch/template.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv" and b"email,user_type" in csv.data
    assert amy_session.get("/invite/batch/template.xlsx").data.startswith(b"PK")


def test_review_shows_counts_unknown_columns_and_each_error_beside_its_cell(amy_session):
    response = upload(amy_session, GOOD, BAD + ",blue", headings=HEADINGS + ",colour")
    review = response.headers["Location"]
    page = amy_session.get(review).text
    assert "2 rows, 1 needs attention." in text(page) and "colour" in page
    assert re.search(r'<td class="cell--error">\s*<span class="cell-value">maybe</span>.*?SEED onboarding is required: yes or no', page, re.S)
    assert "You cannot submit yet: 1 row needs attention." in text(page)
    assert 'aria-disabled="true" aria-describedby="submit-blocked">Submit 2 requests' in page
    only = amy_session.get(review + "?attention=1").text
    assert "Edit row 3" in text(only) and "Edit row 2" not in text(only)
    refused = amy_session.post(review + "/submit")
    assert "needs attention" in banner(amy_session.get(refused.headers["Location"]).text)
    assert InviteRequest.select().count() == 0


def test_editing_a_row_revalidates_it_and_keeps_what_was_typed(amy_session):
    review = upload(amy_session, GOOD, BAD).headers["Location"]
    form = amy_session.get(review + "/rows/3").text
    assert "SEED onboarding is required: yes or no" in field_error(form, "seed_onboarding") and "The file has “maybe”." in form
    assert checked_value(form, "user_type") == "public_officer" and input_value(form, "last_name") == "Ah Kow"
    still_bad = amy_session.post(review + "/rows/3", data={"email": "tan@tech.gov.sg", "user_type": "public_officer",
                                                   "contact_number": "12", "seed_onboarding": "no", "reason": "x"})
    assert still_bad.status_code == 422 and field_error(still_bad.text, "contact_number")
    assert input_value(still_bad.text, "contact_number") == "12"
    fixed = amy_session.post(review + "/rows/3", data={"email": "tan@tech.gov.sg", "user_type": "public_officer", "first_name": "Tan",
                                               "last_name": "Ah Kow", "contact_number": "91234568", "organisation": "GovTech",
                                               "seed_onboarding": "no", "reason": "New joiner"})
    # back to the row just changed, not to the top of the list
    assert fixed.headers["Location"] == review + "#row-3" and "Row 3 is ready" in banner(amy_session.get(review).text)


def test_submitting_a_clean_batch_ends_on_its_filtered_status_page(amy_session):
    review = upload(amy_session, GOOD, BAD).headers["Location"]
    removed = amy_session.post(review + "/rows/3/remove")
    assert removed.headers["Location"] == review + "#row-2"  # the last row went: the one before it
    assert "1 row, 0 need attention." in text(amy_session.get(review).text)
    done = amy_session.post(review + "/submit")
    batch_id = review.rsplit("/", 1)[1]
    assert done.headers["Location"] == f"/status?batch={batch_id}"
    page = amy_session.get(done.headers["Location"]).text
    assert "1 request sent for approval." in banner(page) and "people.csv" in page and "vic@vendor.example.com" in page
    assert InviteRequest.get().batch_id == batch_id


def test_reset_asks_first_then_removes_every_row(amy_session):
    review = upload(amy_session, GOOD, BAD).headers["Location"]
    assert "Yes, remove all rows" in amy_session.get(review + "/reset").text
    assert amy_session.post(review + "/reset").headers["Location"] == "/invite/batch"
    assert "There are no rows left" in amy_session.get(review).text


def test_a_file_that_cannot_be_used_is_reported_beside_the_file_input(amy_session, portal_app):
    pdf = amy_session.post("/invite/batch", data={"file": (io.BytesIO(b"%PDF-1.7"), "x.pdf")}, content_type="multipart/form-data")
    assert pdf.status_code == 415 and "PDF document" in field_error(pdf.text, "file")
    none = amy_session.post("/invite/batch", data={}, content_type="multipart/form-data")
    assert "Choose a CSV or Excel file" in field_error(none.text, "file")
    big = amy_session.post("/invite/batch", data={"file": (io.BytesIO(b"a" * (portal_app.config["MAX_CONTENT_LENGTH"] + 1)), "big.csv")},
                   content_type="multipart/form-data")
    assert big.status_code == 413 and "larger than 5 MB" in field_error(big.text, "file")


def test_rows_sharing_a_username_say_which_other_row_has_it(amy_session):
    review = upload(amy_session, GOOD, GOOD.replace("vic@", "lee@")).headers["Location"]
    assert "The same TechPass username is also on row 3." in field_error(amy_session.get(review + "/rows/2").text, "username")


def test_another_requesters_batch_is_not_found(amy_session, zed_session):
    review = upload(amy_session, GOOD).headers["Location"]
    assert zed_session.get(review).status_code == 404
    assert zed_session.post(review + "/submit").status_code == 404
    assert InviteRequest.select().count() == 0


def test_removing_every_row_that_needs_attention_asks_first_then_keeps_the_good_rows(amy_session):
    review = upload(amy_session, GOOD, BAD, BAD.replace("tan@", "lim@"), GOOD.replace("vic@", "ann@").replace("vic.lim", "ann.lee")).headers["Location"]
    assert "Remove all 2 rows that need attention" in text(amy_session.get(review).text)
    confirm = amy_session.get(review + "/remove-attention").text
    assert "Remove the 2 rows that need attention?" in text(confirm) and "Rows 3 and 4 are taken out" in text(confirm)
    assert amy_session.get(review).status_code == 200 and "4 rows, 2 need attention." in text(amy_session.get(review).text)
    done = amy_session.post(review + "/remove-attention")
    assert done.headers["Location"] == review
    page = amy_session.get(review).text
    assert "2 rows that needed attention were removed; 2 rows are left." in banner(page)
    assert "2 rows, 0 need attention." in text(page) and "Remove all 2" not in text(page)


def test_fixing_a_row_among_only_those_needing_attention_returns_to_the_next_one(amy_session):
    review = upload(amy_session, BAD, GOOD, BAD.replace("tan@", "lim@")).headers["Location"]
    fixed = amy_session.post(review + "/rows/2", data={"attention": "1", "email": "tan@tech.gov.sg", "user_type": "public_officer",
                                               "first_name": "Tan", "last_name": "Ah Kow", "contact_number": "91234568",
                                               "organisation": "GovTech", "seed_onboarding": "no", "reason": "New joiner"})
    # row 2 left the view once fixed; row 4 is the next that needs attention
    assert fixed.headers["Location"] == review + "?attention=1#row-4"


def test_a_vendor_row_at_a_public_officer_address_is_submitted_only_once_confirmed(amy_session):
    review = upload(amy_session, GOOD, GOOD.replace("vic@vendor.example.com", "vic@tech.gov.sg").replace("vic.lim", "vic.tan")).headers["Location"]
    page = amy_session.get(review).text
    assert "Vendor with a public officer address" in text(page) and "I have checked row 3:" in text(page)
    refused = amy_session.post(review + "/submit")
    assert refused.headers["Location"] == review + "#submit" and InviteRequest.select().count() == 0
    assert "Row 3 asks for a vendor" in banner(amy_session.get(review).text)
    done = amy_session.post(review + "/submit", data={"confirm_officer_address": "yes"})
    assert done.headers["Location"].startswith("/status?batch=") and InviteRequest.select().count() == 2


def test_open_batches_are_listed_with_what_needs_attention_until_submitted(amy_session, zed_session):
    review = upload(amy_session, GOOD, BAD, name="team.csv").headers["Location"]
    upload(zed_session, GOOD, name="not-amys.csv")
    for page in (amy_session.get("/").text, amy_session.get("/invite/batch").text):
        assert "Continue checking team.csv" in text(page) and "1 of 2 rows needs attention" in text(page)
        assert "not-amys.csv" not in page
        assert f'href="{review}?attention=1"' in page
    amy_session.post(review + "/rows/3/remove")
    assert "1 row, all ready to submit" in text(amy_session.get("/").text)
    amy_session.post(review + "/submit")
    assert "Continue checking" not in text(amy_session.get("/").text)


def test_a_batchs_requests_are_listed_in_the_files_row_order(amy_session):
    emails = ["zoe", "abe", "max", "bea"]
    lines = [GOOD.replace("vic@", f"{e}@").replace("vic.lim", f"{e}.lim") for e in emails]
    review = upload(amy_session, *lines).headers["Location"]
    listed = amy_session.get(amy_session.post(review + "/submit").headers["Location"]).text
    found = re.findall(r'<th scope="row"[^>]*>(\d+)</th>\s*<td[^>]*><a href="/status/[^"]+">([^<]+)</a>', listed)
    assert found == [(str(n + 2), f"{e}@vendor.example.com") for n, e in enumerate(emails)]


@pytest.mark.parametrize("number", ["\u00b2", "9" * 5000])
def test_a_review_page_number_int_cannot_read_shows_a_page(amy_session, number):
    review = upload(amy_session, GOOD).headers["Location"]
    response = amy_session.get(review, query_string={"page": number})
    assert response.status_code == 200 and "vic@vendor.example.com" in response.text
    # the page a row's edit returns to is read the same way
    assert amy_session.get(f"{review}/rows/2", query_string={"page": number}).status_code == 200

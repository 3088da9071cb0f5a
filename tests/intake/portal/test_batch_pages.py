"""Batch upload pages: template, upload, review with errors beside cells, edit, remove, reset, submit."""
import io
import re

import pytest

from intake.models import InviteRequest
from tests.support.portal_html import banner, checked_value, field_error, input_value, summary_links, text, title

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


def test_review_shows_counts_unknown_columns_and_states_each_rows_problem_in_the_row(amy_session):
    response = upload(amy_session, GOOD, BAD + ",blue", headings=HEADINGS + ",colour")
    review = response.headers["Location"]
    page = amy_session.get(review).text
    assert "2 rows, 1 needs attention." in text(page) and "colour" in page
    # the problem is written out in the row's Problems cell, with its column and the value the file has
    problems = re.search(r'<tr id="row-3".*?<td data-label="Problems" class="cell--problems">(.*?)</td>', page, re.S).group(1)
    assert "SEED onboarding (“maybe”): Say whether SEED onboarding is required: yes or no." in text(problems)
    assert re.search(r'<td data-label="SEED onboarding" class="cell--detail cell--error"><span class="cell-value">maybe</span>', page)
    assert "None: ready to submit" in text(re.search(r'<tr id="row-2".*?</tr>', page, re.S).group(0))
    assert "1 row needs attention." in text(page) and "aria-disabled" not in page
    only = amy_session.get(review + "?attention=1").text
    assert "Edit row 3" in text(only) and "Edit row 2" not in text(only)
    assert InviteRequest.select().count() == 0


def test_submitting_with_rows_that_need_attention_lists_them_linked_and_sends_nothing(amy_session):
    review = upload(amy_session, GOOD, BAD, BAD.replace("tan@", "lim@").replace(",maybe,", ",no,").replace("91234568", "12")).headers["Location"]
    refused = amy_session.post(review + "/submit")
    assert refused.status_code == 422 and title(refused.text).startswith("Error: ")
    assert summary_links(refused.text) == [
        ("#row-3", "Row 3: SEED onboarding: Say whether SEED onboarding is required: yes or no."),
        ("#row-4", "Row 4: Contact number: " + summary_links(refused.text)[1][1].split(": ", 2)[2]),
    ]
    assert "Nothing was submitted." in text(refused.text) and 'id="row-3"' in refused.text and 'id="row-4"' in refused.text
    assert 'id="row-2"' not in refused.text  # only the rows to fix are listed below the summary
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
    assert removed.headers["Location"].startswith(review + "?removed=")
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
    assert "Remove the rows that need attention" in text(amy_session.get(review).text)
    confirm = amy_session.get(review + "/remove-attention").text
    assert "Remove 2 rows that need attention?" in text(confirm) and "2 have other problems: rows 3 and 4." in text(confirm)
    assert "later copies" not in text(confirm)
    assert amy_session.get(review).status_code == 200 and "4 rows, 2 need attention." in text(amy_session.get(review).text)
    done = amy_session.post(review + "/remove-attention")
    assert done.headers["Location"].startswith(review + "?removed=")
    page = amy_session.get(done.headers["Location"]).text
    assert banner(page) == "Rows 3 and 4 were removed. 2 rows are left."
    assert "2 rows, 0 need attention." in text(page) and "Remove the rows" not in text(page)


def test_removing_rows_that_need_attention_keeps_the_first_copy_of_a_repeated_person(amy_session):
    ann = GOOD.replace("vic@", "ann@").replace("vic.lim", "ann.lee")
    review = upload(amy_session, GOOD, BAD, ann, GOOD.replace("91234567", "81234567"), ann).headers["Location"]
    confirm = text(amy_session.get(review + "/remove-attention").text)
    assert "Remove 3 rows that need attention?" in confirm
    assert "2 are later copies of someone already in the batch (the same email address or TechPass username): rows 5 and 6." in confirm
    assert "The first copy of each person stays." in confirm and "1 has other problems: row 3." in confirm
    done = amy_session.post(review + "/remove-attention")
    page = amy_session.get(done.headers["Location"]).text
    assert banner(page) == ("Rows 3, 5 and 6 were removed. 2 were later copies of someone already in the batch "
                            "(the first copy stays) and 1 had other problems. 2 rows are left.")
    # the first copies are there, no longer flagged: the batch is ready
    assert "2 rows, 0 need attention." in text(page) and 'id="row-2"' in page and 'id="row-4"' in page


def test_a_person_whose_first_row_has_its_own_problem_keeps_their_next_copy(amy_session):
    bad_vic = GOOD.replace("91234567", "12")
    review = upload(amy_session, bad_vic, GOOD).headers["Location"]
    done = amy_session.post(review + "/remove-attention")
    page = amy_session.get(done.headers["Location"]).text
    assert banner(page) == "Row 2 was removed. 1 row is left."
    assert "1 row, 0 need attention." in text(page) and 'id="row-3"' in page


def test_undo_puts_removed_rows_back_where_they_were_with_their_flags(amy_session):
    ann = GOOD.replace("vic@", "ann@").replace("vic.lim", "ann.lee")
    review = upload(amy_session, GOOD, BAD, ann, ann).headers["Location"]
    edited = amy_session.post(review + "/rows/3", data={"email": "tan@tech.gov.sg", "user_type": "public_officer",
                                                        "contact_number": "1", "seed_onboarding": "no", "reason": "x"})
    assert edited.status_code == 422
    before = amy_session.get(review).text
    done = amy_session.post(review + "/remove-attention")
    page = amy_session.get(done.headers["Location"]).text
    undo = re.search(r'<form method="post" action="([^"]+/undo)" class="banner__action">', page).group(1)
    assert "Undo" in text(re.search(r'<div class="banner.*?</div>', page, re.S).group(0))
    back = amy_session.post(undo)
    assert back.headers["Location"] == review
    restored = amy_session.get(review).text
    assert banner(restored) == "Rows 3 and 5 are back in the batch, as they were."
    # the same rows in the same places, the edit kept, both copies of ann flagged again
    strip = lambda p: [re.sub(r'name="csrf_token" value="[^"]*"', "", row) for row in re.findall(r'<tr id="row-\d+".*?</tr>', p, re.S)]
    assert strip(restored) == strip(before)
    assert "4 rows, 3 need attention." in text(restored)
    # undone once: a second press changes nothing and says so
    again = amy_session.post(undo)
    assert "already back in the batch" in banner(amy_session.get(again.headers["Location"]).text)
    assert "4 rows, 3 need attention." in text(amy_session.get(review).text)


def test_undo_of_a_single_removal_keeps_the_page_and_filter(amy_session):
    review = upload(amy_session, GOOD, BAD, BAD.replace("tan@", "lim@")).headers["Location"]
    removed = amy_session.post(review + "/rows/3/remove", data={"attention": "1"})
    assert removed.headers["Location"].startswith(review + "?removed=") and removed.headers["Location"].endswith("&attention=1")
    page = amy_session.get(removed.headers["Location"]).text
    assert banner(page) == "Row 3 was removed. 2 rows are left."
    assert '<input type="hidden" name="attention" value="1">' in re.search(r'<div class="banner.*?</form>', page, re.S).group(0)
    undo = re.search(r'action="([^"]+/undo)"', page).group(1)
    assert amy_session.post(undo, data={"attention": "1"}).headers["Location"] == review + "?attention=1"
    assert "3 rows, 2 need attention." in text(amy_session.get(review).text)


def test_undo_is_refused_to_another_requester_and_after_submitting(amy_session, zed_session):
    review = upload(amy_session, GOOD, BAD).headers["Location"]
    removed = amy_session.post(review + "/rows/3/remove")
    undo = re.search(r'action="([^"]+/undo)"', amy_session.get(removed.headers["Location"]).text).group(1)
    assert zed_session.post(undo).status_code == 404
    amy_session.post(review + "/submit")
    assert amy_session.post(undo).headers["Location"].startswith("/status?batch=")
    assert InviteRequest.select().count() == 1


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

"""Uploading files: the formats people save, and a corpus of bad ones, each refused with a clear message (never a 500)."""
import io
import random
import zipfile

import pytest

from intake.batches import service
from intake.batches.columns import FIELDS
from intake.auth.identity import Caller
from tests.support.spreadsheets import HEADINGS, OFFICER_ROW, VENDOR_ROW, csv_bytes, upload, xlsx_bytes

AMY = Caller("amy@tech.gov.sg", frozenset({"requester"}))


def file_error(response, status=422):
    assert response.status_code == status, response.get_json()
    return response.get_json()["errors"]["file"][0]


def test_a_csv_becomes_a_draft_of_its_rows_with_fields_as_given(amy):
    response = upload(amy, csv_bytes([OFFICER_ROW, VENDOR_ROW]))
    assert response.status_code == 201
    body = response.get_json()
    assert body["row_count"] == 2 and body["error_count"] == 0 and body["unknown_columns"] == []
    assert [r["row"] for r in body["rows"]] == [2, 3]
    assert body["rows"][1]["fields"]["contact_number"] == "+65 9876 5432"
    assert set(body["rows"][0]["fields"]) == set(FIELDS)
    assert body["filename"] == "requests.csv" and body["status"] == "draft"


def test_an_xlsx_workbook_is_read_from_its_first_sheet_with_numbers_as_text(amy):
    row = OFFICER_ROW | {"contact_number": 91234567, "seed_onboarding": True}
    response = upload(amy, xlsx_bytes([row, VENDOR_ROW]), "requests.xlsx")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["error_count"] == 0
    assert body["rows"][0]["fields"]["contact_number"] == "91234567"
    assert body["rows"][0]["fields"]["seed_onboarding"] == "TRUE"


def test_the_type_is_told_by_content_not_by_the_file_name(amy):
    assert upload(amy, xlsx_bytes([OFFICER_ROW]), "requests.csv").status_code == 201
    assert upload(amy, csv_bytes([OFFICER_ROW]), "requests.xlsx").status_code == 201


def test_a_formula_in_a_workbook_is_text_never_evaluated(amy):
    formula = '=HYPERLINK("http://evil.example","Click")'
    response = upload(amy, xlsx_bytes([OFFICER_ROW | {"last_name": formula}]), "f.xlsx")
    assert response.get_json()["rows"][0]["fields"]["last_name"] == formula


def test_a_formula_with_a_saved_value_gives_that_value(amy):
    data = xlsx_bytes([OFFICER_ROW | {"last_name": '=CONCAT("T","an")'}])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                # the value Excel would have saved beside the formula
                content = content.replace(b"</f><v />", b'</f><v>Tan</v>').replace(b"<c r=\"E2\">", b'<c r="E2" t="str">')
            target.writestr(item, content)
    response = upload(amy, out.getvalue(), "f.xlsx")
    assert response.get_json()["rows"][0]["fields"]["last_name"] == "Tan"


def test_formula_like_csv_cells_are_kept_as_text_and_checked_as_text(amy):
    rows = [
        OFFICER_ROW | {"last_name": '=HYPERLINK("http://evil.example","x")', "contact_number": "+65 9123 4567"},
        OFFICER_ROW | {"email": "b@tech.gov.sg", "first_name": "@SUM(A1)", "organisation": "-2+3", "department": "\tTab"},
    ]
    body = upload(amy, csv_bytes(rows)).get_json()
    first, second = body["rows"]
    assert first["fields"]["last_name"].startswith("=HYPERLINK(")
    assert "contact_number" not in first["errors"]
    assert second["fields"]["first_name"] == "@SUM(A1)"
    assert "department" in second["errors"]  # a tab is a hidden character in a name field


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_text_in_the_encodings_excel_saves_is_read_correctly(amy, encoding):
    body = upload(amy, csv_bytes([OFFICER_ROW | {"first_name": "Zoë"}], encoding=encoding)).get_json()
    assert body["rows"][0]["fields"]["first_name"] == "Zoë"
    assert body["error_count"] == 0


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("line_end", ["\r\n", "\n", "\r"])
def test_separator_and_line_ends_are_recognised(amy, delimiter, line_end):
    row = OFFICER_ROW | {"organisation": "GovTech; Platform, Team"}
    body = upload(amy, csv_bytes([row, VENDOR_ROW], delimiter=delimiter, line_end=line_end)).get_json()
    assert body["row_count"] == 2 and body["error_count"] == 0
    assert body["rows"][0]["fields"]["organisation"] == "GovTech; Platform, Team"


def test_a_quoted_cell_may_hold_line_breaks_and_counts_as_one_row(amy):
    rows = [OFFICER_ROW | {"reason": "Joining the team,\nstarting Monday"}, VENDOR_ROW]
    body = upload(amy, csv_bytes(rows)).get_json()
    assert [r["row"] for r in body["rows"]] == [2, 3]
    assert body["rows"][0]["fields"]["reason"] == "Joining the team,\nstarting Monday"
    assert body["error_count"] == 0


def test_an_unclosed_quotation_mark_is_refused_naming_its_row(amy):
    data = csv_bytes([OFFICER_ROW]) + b'x@tech.gov.sg,public_officer,,"Jane,Tan,91234567,GovTech,,no,,reason\r\n'
    assert "Row 3" in file_error(upload(amy, data)) and "never closed" in file_error(upload(amy, data))


def test_text_after_a_closing_quotation_mark_is_refused_naming_its_row(amy):
    data = csv_bytes([OFFICER_ROW]) + b'x@tech.gov.sg,public_officer,,"Jane"x,Tan,91234567,GovTech,,no,,reason\r\n'
    assert "Row 3" in file_error(upload(amy, data))


def test_blank_lines_are_skipped_and_rows_keep_their_numbers_in_the_file(amy):
    data = csv_bytes([OFFICER_ROW, {}, VENDOR_ROW]) + b"\r\n,,,\r\n"
    body = upload(amy, data).get_json()
    assert [r["row"] for r in body["rows"]] == [2, 4]


def test_headings_are_matched_leniently_in_any_order(amy):
    headings = [
        " Reason ", "E-mail", "Organization", "First Name", "LAST_NAME", "Mobile", "User Type", "Seed",
        "Department (optional)", "TechPass username", "offshore",
    ]
    rename = dict(zip(
        ["reason", "email", "organisation", "first_name", "last_name", "contact_number", "user_type",
         "seed_onboarding", "department", "username", "offshore"], headings))
    row = {rename[k]: v for k, v in VENDOR_ROW.items()}
    body = upload(amy, csv_bytes([row], headings=headings)).get_json()
    assert body["error_count"] == 0 and body["unknown_columns"] == []
    assert body["rows"][0]["fields"]["username"] == "v-vic.lim"


def test_unknown_columns_are_reported_not_fatal(amy):
    headings = HEADINGS + ["Manager", ""]
    data = csv_bytes([OFFICER_ROW | {"Manager": "Bob", "": "stray"}], headings=headings)
    body = upload(amy, data).get_json()
    assert body["unknown_columns"] == ["Manager", "column M (no heading)"]
    assert body["error_count"] == 0


def test_the_same_column_twice_is_refused_naming_it(amy):
    message = file_error(upload(amy, csv_bytes([OFFICER_ROW], headings=HEADINGS + ["E-mail"])))
    assert "email" in message and '"E-mail" (column L)' in message


def test_missing_required_columns_are_refused_naming_them(amy):
    headings = [h for h in HEADINGS if h not in ("first_name", "reason")]
    message = file_error(upload(amy, csv_bytes([OFFICER_ROW], headings=headings)))
    assert "first_name" in message and "reason" in message


def test_a_file_whose_first_row_is_not_headings_is_refused(amy):
    data = b"jane@tech.gov.sg,public_officer,,Jane,Tan,91234567,GovTech,,no,,reason\r\n"
    assert "first row must name the columns" in file_error(upload(amy, data))


@pytest.mark.parametrize("data", [b"", b"   \r\n\r\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(amy, data):
    assert "empty" in file_error(upload(amy, data))


def test_a_file_of_blank_rows_is_refused(amy):
    assert "no rows" in file_error(upload(amy, b",,,\r\n,,\r\n"))


def test_a_headings_only_file_is_refused(amy):
    assert "no requests" in file_error(upload(amy, service.template_csv()))
    assert "no requests" in file_error(upload(amy, service.template_xlsx(), "t.xlsx"))


def test_control_characters_in_cells_are_errors_on_those_cells(amy):
    row = OFFICER_ROW | {"first_name": "Ja\x07ne", "last_name": "Tan\x1b[31m", "organisation": "Gov\u202eTech"}
    body = upload(amy, csv_bytes([row])).get_json()
    assert set(body["rows"][0]["errors"]) == {"first_name", "last_name", "organisation"}


@pytest.mark.parametrize("email", [
    "jane@tech.gov.sg\r\nBcc: all@tech.gov.sg",
    "jane@tech.gov.sg\nBcc: all@tech.gov.sg",
    "Jane <jane@tech.gov.sg>",
])
def test_header_injection_attempts_in_emails_are_refused(amy, email):
    body = upload(amy, csv_bytes([OFFICER_ROW | {"email": email}])).get_json()
    assert "email" in body["rows"][0]["errors"]


@pytest.mark.parametrize("email", ["jane@evilgov.sg", "jane@gov.sg.evil.com", "jane@gov\uff0esg", "jane@tech.gov.sg."])
def test_look_alike_organisation_domains_are_refused_for_officers(amy, email):
    body = upload(amy, csv_bytes([OFFICER_ROW | {"email": email}])).get_json()
    assert "email" in body["rows"][0]["errors"]


def test_yes_no_cells_accept_the_usual_spellings(amy):
    rows = [
        OFFICER_ROW | {"email": f"p{i}@tech.gov.sg", "seed_onboarding": word}
        for i, word in enumerate(["YES", "y", "True", "1", "No", "N", "false", "0"])
    ]
    rows.append(OFFICER_ROW | {"email": "q@tech.gov.sg", "seed_onboarding": "maybe"})
    body = upload(amy, csv_bytes(rows)).get_json()
    assert body["error_count"] == 1
    assert body["rows"][-1]["errors"] == {"seed_onboarding": ["Enter yes or no."]}


def test_user_types_may_be_written_as_people_write_them(amy):
    rows = [OFFICER_ROW | {"user_type": "Public Officer"}, VENDOR_ROW | {"user_type": "Vendor"}]
    assert upload(amy, csv_bytes(rows)).get_json()["error_count"] == 0


def test_a_cell_longer_than_the_limit_is_an_error_on_that_cell(amy):
    body = upload(amy, csv_bytes([OFFICER_ROW | {"department": "x" * 1001}])).get_json()
    assert "1,000" in body["rows"][0]["errors"]["department"][0]


@pytest.mark.parametrize("data, what", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "PNG"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), ".xls"),
    (random.Random(7).randbytes(4096), "CSV"),
    (b"email\x00,user_type\x00\r\n" * 20, "CSV"),
])
def test_files_that_are_neither_csv_nor_xlsx_get_415(amy, data, what):
    response = upload(amy, data)
    assert response.status_code == 415
    message = response.get_json()["message"]
    assert what in message and "CSV" in message and ".xlsx" in message


def test_a_zip_that_is_not_a_workbook_gets_415(amy):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    response = upload(amy, out.getvalue(), "requests.xlsx")
    assert response.status_code == 415 and "zip" in response.get_json()["message"]


def test_a_damaged_workbook_gets_415(amy):
    data = xlsx_bytes([OFFICER_ROW])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            target.writestr(item, content[: len(content) // 2] if item.filename.endswith("sheet1.xml") else content)
    assert upload(amy, out.getvalue(), "r.xlsx").status_code == 415


def test_a_file_over_the_size_limit_gets_413_before_it_is_read(amy):
    response = upload(amy, b"email\r\n" + b"x" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert "5 MB" in response.get_json()["message"]


def test_the_service_refuses_an_oversize_file_itself(intake_db):
    with pytest.raises(service.TooLarge):
        service.create_draft(b"x" * (5 * 1024 * 1024 + 1), "big.csv", AMY, ("gov.sg",))


def test_more_rows_than_the_limit_are_refused_saying_the_limit(amy):
    line = b"jane@tech.gov.sg,public_officer,,Jane,Tan,91234567,GovTech,,no,,Joining\r\n"
    data = csv_bytes([]) + line * 5001
    assert "5,000" in file_error(upload(amy, data))


def test_a_request_without_a_file_is_refused(amy):
    response = amy("POST", "/api/v1/batches", data={"other": "x"}, content_type="multipart/form-data")
    assert "file" in response.get_json()["errors"] and response.status_code == 422


def test_the_file_name_is_kept_only_as_its_last_part(amy):
    body = upload(amy, csv_bytes([OFFICER_ROW]), "../../home/amy/requests.csv").get_json()
    assert body["filename"] == "requests.csv"


def test_the_file_name_is_kept_only_as_display_text(intake_db):
    draft = service.create_draft(csv_bytes([OFFICER_ROW]), "../../etc/pass\r\nwd\x00\u202e.csv" + "x" * 300, AMY, ("gov.sg",))
    assert draft.filename == "pass wd .csv" + "x" * 188


def test_only_public_officers_may_upload(client):
    from tests.support.callers import as_user

    assert upload(as_user(client, "eve@example.com"), csv_bytes([OFFICER_ROW])).status_code == 403
    assert client.post("/api/v1/batches").status_code == 401


def test_rows_above_the_headings_may_be_blank_and_row_numbers_stay_those_of_the_sheet(amy):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for col, heading in enumerate(HEADINGS, start=1):
        sheet.cell(row=3, column=col, value=heading)
        sheet.cell(row=5, column=col, value=OFFICER_ROW.get(heading))
    out = io.BytesIO()
    workbook.save(out)
    body = upload(amy, out.getvalue(), "r.xlsx").get_json()
    assert [r["row"] for r in body["rows"]] == [5] and body["error_count"] == 0


def test_blank_lines_above_the_headings_do_not_hide_the_separator(amy):
    body = upload(amy, b"\r\n\r\n" + csv_bytes([OFFICER_ROW], delimiter=";")).get_json()
    assert body["row_count"] == 1 and body["error_count"] == 0 and body["rows"][0]["row"] == 4


def test_a_workbook_that_would_unpack_to_far_more_than_its_size_gets_413(amy):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b"\0" * (65 * 1024 * 1024))
    assert len(out.getvalue()) < 1024 * 1024
    assert upload(amy, out.getvalue(), "bomb.xlsx").status_code == 413


@pytest.mark.parametrize("damage", ["garbage", "cut short", "password"])
def test_an_unreadable_workbook_is_called_a_workbook_not_a_text_file(amy, damage):
    data = {
        "garbage": bytes(range(256)) * 40,
        "cut short": xlsx_bytes([OFFICER_ROW])[:900],
        # what Excel writes for a workbook protected with a password: the older Office container
        "password": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000),
    }[damage]
    message = upload(amy, data, "batch.xlsx").get_json()["message"]
    assert "workbook cannot be opened" in message
    assert "text file" not in message and "UTF-8" not in message and "zip" not in message


def test_the_name_never_decides_the_type_of_a_readable_file(amy):
    # a CSV saved with an .xlsx name is still read as the CSV it is
    assert upload(amy, csv_bytes([OFFICER_ROW]), "batch.xlsx").status_code == 201

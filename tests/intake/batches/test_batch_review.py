"""Reviewing a draft: duplicates and open requests flagged, rows fixed, removed or all reset, only by their requester."""
import pytest

from intake.models import TakenUsername
from tests.support.spreadsheets import HEADINGS, OFFICER_ROW, VENDOR_ROW, csv_bytes, upload
from tests.support.callers import as_user


def draft_of(user, rows):
    response = upload(user, csv_bytes(rows))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def errors_by_row(body):
    return {r["row"]: r["errors"] for r in body["rows"]}


def test_the_same_email_twice_is_flagged_on_both_rows_whatever_its_case(amy):
    body = draft_of(amy, [OFFICER_ROW, VENDOR_ROW, OFFICER_ROW | {"email": "Jane.Tan@TECH.gov.sg"}])
    errors = errors_by_row(body)
    assert errors[2] == {"email": ["Also on row 4."]} and errors[4] == {"email": ["Also on row 2."]}
    assert errors[3] == {} and body["error_count"] == 2


def test_the_same_vendor_username_twice_is_flagged_on_every_row_involved(amy):
    rows = [VENDOR_ROW] + [VENDOR_ROW | {"email": f"v{i}@vendor.example.com", "username": "V-VIC.LIM"} for i in range(2)]
    errors = errors_by_row(draft_of(amy, rows))
    assert errors[2] == {"username": ["Also on rows 3 and 4."]}
    assert errors[4] == {"username": ["Also on rows 2 and 3."]}


def test_an_email_with_an_open_request_is_flagged_with_that_request(amy):
    invite = amy("POST", "/api/v1/invites", json=dict(OFFICER_ROW, method="create_account", seed_onboarding=False)).get_json()
    errors = errors_by_row(draft_of(amy, [OFFICER_ROW]))
    assert errors[2]["email"] == [f"An open request for this email already exists (request {invite['id']})."]


def test_a_vendor_username_already_taken_is_flagged(amy):
    TakenUsername.create(username_key="v-vic.lim", request_id="earlier")
    errors = errors_by_row(draft_of(amy, [VENDOR_ROW]))
    assert errors[2] == {"username": ["This TechPass username is already taken; choose another."]}


def test_a_vendor_row_whose_username_a_public_officer_could_be_given_is_flagged_on_username(amy):
    body = draft_of(amy, [VENDOR_ROW | {"username": "jane.tan"}, VENDOR_ROW | {"email": "v2@vendor.example.com", "username": "v-jane.tan"}])
    errors = errors_by_row(body)
    assert list(errors[2]) == ["username"] and "starts with v-" in errors[2]["username"][0]
    assert errors[3] == {} and body["error_count"] == 1


def test_editing_a_row_checks_it_again_and_clears_the_duplicate_on_the_other_row(amy):
    body = draft_of(amy, [OFFICER_ROW, OFFICER_ROW | {"contact_number": "12"}])
    response = amy("PATCH", f"/api/v1/batches/{body['id']}/rows/3", json={"email": "ken@tech.gov.sg", "contact_number": "8123 4567"})
    assert response.status_code == 200
    assert response.get_json() == {"row": 3, "fields": response.get_json()["fields"], "errors": {},
                                   "levels": response.get_json()["levels"]}
    assert response.get_json()["fields"]["email"] == "ken@tech.gov.sg"
    review = amy("GET", f"/api/v1/batches/{body['id']}").get_json()
    assert review["error_count"] == 0 and errors_by_row(review) == {2: {}, 3: {}}


def test_editing_a_row_into_a_duplicate_flags_both_rows(amy):
    body = draft_of(amy, [OFFICER_ROW, OFFICER_ROW | {"email": "ken@tech.gov.sg"}])
    row = amy("PATCH", f"/api/v1/batches/{body['id']}/rows/3", json={"email": "JANE.TAN@tech.gov.sg"}).get_json()
    assert row["errors"] == {"email": ["Also on row 2."]}
    assert errors_by_row(amy("GET", f"/api/v1/batches/{body['id']}").get_json())[2] == {"email": ["Also on row 3."]}


def test_editing_can_make_a_row_wrong_and_says_why(amy):
    body = draft_of(amy, [OFFICER_ROW])
    row = amy("PATCH", f"/api/v1/batches/{body['id']}/rows/2", json={"first_name": "", "seed_onboarding": "perhaps"}).get_json()
    assert set(row["errors"]) == {"first_name", "seed_onboarding"}


def test_an_edit_naming_an_unknown_field_is_refused_by_name(amy):
    body = draft_of(amy, [OFFICER_ROW])
    response = amy("PATCH", f"/api/v1/batches/{body['id']}/rows/2", json={"is_admin": True, "email": "x@tech.gov.sg"})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"is_admin"}


@pytest.mark.parametrize("payload", [[1, 2], "text", {}, {"email": 5}, {"email": ["a"]}])
def test_an_edit_that_is_not_an_object_of_text_is_refused(amy, payload):
    body = draft_of(amy, [OFFICER_ROW])
    assert amy("PATCH", f"/api/v1/batches/{body['id']}/rows/2", json=payload).status_code == 422


def test_editing_a_row_that_is_not_there_is_404(amy):
    body = draft_of(amy, [OFFICER_ROW])
    assert amy("PATCH", f"/api/v1/batches/{body['id']}/rows/9", json={"email": "x@tech.gov.sg"}).status_code == 404


def test_removing_a_row_also_clears_the_duplicate_it_caused(amy):
    body = draft_of(amy, [OFFICER_ROW, VENDOR_ROW, OFFICER_ROW])
    assert amy("DELETE", f"/api/v1/batches/{body['id']}/rows/4").status_code == 204
    review = amy("GET", f"/api/v1/batches/{body['id']}").get_json()
    assert review["row_count"] == 2 and review["error_count"] == 0
    assert amy("DELETE", f"/api/v1/batches/{body['id']}/rows/4").status_code == 404


def test_reset_removes_every_row_and_leaves_nothing_to_submit(amy):
    body = draft_of(amy, [OFFICER_ROW, VENDOR_ROW])
    assert amy("DELETE", f"/api/v1/batches/{body['id']}/rows").status_code == 204
    review = amy("GET", f"/api/v1/batches/{body['id']}").get_json()
    assert review["row_count"] == 0 and review["rows"] == []
    response = amy("POST", f"/api/v1/batches/{body['id']}/submit")
    assert response.status_code == 422 and "no rows" in response.get_json()["errors"]["batch"][0]


def test_a_big_draft_is_read_a_page_at_a_time_with_counts_for_the_whole_draft(amy):
    rows = [OFFICER_ROW | {"email": f"p{i}@tech.gov.sg", "contact_number": "12" if i % 10 == 0 else "91234567"} for i in range(250)]
    body = draft_of(amy, rows)
    assert body["row_count"] == 250 and body["error_count"] == 25
    assert len(body["rows"]) == 200 and body["next_offset"] == 200
    page = amy("GET", f"/api/v1/batches/{body['id']}?offset=200&limit=100").get_json()
    assert [r["row"] for r in page["rows"]] == list(range(202, 252)) and page["next_offset"] is None
    errors = amy("GET", f"/api/v1/batches/{body['id']}?errors_only=true&limit=10").get_json()
    assert [r["row"] for r in errors["rows"]] == list(range(2, 102, 10)) and errors["next_offset"] == 10
    assert errors["row_count"] == 250 and errors["error_count"] == 25


def test_paging_arguments_out_of_range_are_refused(amy):
    body = draft_of(amy, [OFFICER_ROW])
    assert amy("GET", f"/api/v1/batches/{body['id']}?limit=0").status_code == 422
    assert amy("GET", f"/api/v1/batches/{body['id']}?offset=-1").status_code == 422
    assert amy("GET", f"/api/v1/batches/{body['id']}?sort=row").status_code == 422


def test_a_draft_is_kept_until_submitted(amy, client):
    body = draft_of(amy, [OFFICER_ROW])
    again = as_user(client, "amy@tech.gov.sg")("GET", f"/api/v1/batches/{body['id']}").get_json()
    assert again["rows"] == body["rows"] and again["created_at"] == body["created_at"]


def test_other_people_cannot_see_or_touch_a_draft(amy, client):
    body = draft_of(amy, [OFFICER_ROW])
    for user in ("zed@tech.gov.sg", "bob@tech.gov.sg", "carol@tech.gov.sg"):
        other = as_user(client, user)
        assert other("GET", f"/api/v1/batches/{body['id']}").status_code == 404
        assert other("PATCH", f"/api/v1/batches/{body['id']}/rows/2", json={"email": "x@tech.gov.sg"}).status_code == 404
        assert other("DELETE", f"/api/v1/batches/{body['id']}/rows/2").status_code == 404
        assert other("DELETE", f"/api/v1/batches/{body['id']}/rows").status_code == 404
        assert other("POST", f"/api/v1/batches/{body['id']}/submit").status_code == 404
    assert amy("GET", f"/api/v1/batches/{body['id']}").get_json()["row_count"] == 1
    assert amy("GET", "/api/v1/batches/not-a-batch").status_code == 404


def test_templates_are_the_headings_only_and_a_guide_in_the_workbook(amy):
    import io

    from openpyxl import load_workbook

    csv_template = amy("GET", "/api/v1/batches/template.csv")
    assert csv_template.status_code == 200 and csv_template.mimetype == "text/csv"
    assert csv_template.data.decode("utf-8-sig").splitlines() == [",".join(HEADINGS)]
    workbook = load_workbook(io.BytesIO(amy("GET", "/api/v1/batches/template.xlsx").data))
    assert workbook.sheetnames == ["Requests", "How to fill this in"]
    assert workbook["Requests"].max_row == 1


def test_a_filled_in_workbook_template_uploads(amy):
    import io

    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(amy("GET", "/api/v1/batches/template.xlsx").data))
    sheet = workbook["Requests"]
    headings = [c.value for c in sheet[1]]
    sheet.append([VENDOR_ROW.get(h) for h in headings])
    out = io.BytesIO()
    workbook.save(out)
    body = upload(amy, out.getvalue(), "filled.xlsx").get_json()
    assert body["row_count"] == 1 and body["error_count"] == 0


def test_the_openapi_document_describes_the_batch_api(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/v1/batches", "/api/v1/batches/{batch_id}", "/api/v1/batches/{batch_id}/rows/{row}",
            "/api/v1/batches/{batch_id}/rows", "/api/v1/batches/{batch_id}/submit",
            "/api/v1/batches/template.csv", "/api/v1/batches/template.xlsx"} <= set(paths)


def test_a_vendor_username_held_by_an_open_request_is_flagged(amy):
    single = dict(VENDOR_ROW, method="create_account", seed_onboarding=True, offshore=False)
    assert amy("POST", "/api/v1/invites", json=single).status_code == 201
    errors = errors_by_row(draft_of(amy, [VENDOR_ROW | {"email": "other@vendor.example.com", "username": "V-Vic.Lim"}]))
    assert errors[2] == {"username": ["This TechPass username is already taken; choose another."]}


def test_one_row_is_read_by_its_number_in_the_file(amy):
    from intake.batches import service
    from intake.models import BatchDraft

    body = draft_of(amy, [OFFICER_ROW, VENDOR_ROW])
    draft = BatchDraft.get_by_id(body["id"])
    # the API adds the levels of approval the row would pass (approvals/previews.py)
    assert service.get_row(draft, 3) == {k: v for k, v in body["rows"][1].items() if k != "levels"}
    with pytest.raises(service.NotFound):
        service.get_row(draft, 4)

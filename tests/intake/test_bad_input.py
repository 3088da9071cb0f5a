"""Input at the edges of what parsers and databases take: a clear 4xx naming the field, never a 500."""
import base64

import pytest

from tests.support.spreadsheets import OFFICER_ROW, csv_bytes, upload


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("path", [
    "/api/v1/invites", "/api/v1/approvals/decisions", "/api/v1/invites/x/approve", "/api/v1/invites/x/reject",
])
def test_json_nested_100000_deep_is_refused_as_bad_input(bob, path):
    response = bob("POST", path, data=DEEP, content_type="application/json")
    assert 400 <= response.status_code < 500, response.status_code
    assert response.get_json()["message"]


def test_json_nested_deep_in_a_batch_row_edit_is_refused(amy):
    draft = upload(amy, csv_bytes([OFFICER_ROW])).get_json()["id"]
    response = amy("PATCH", f"/api/v1/batches/{draft}/rows/2", data='{"reason":' + DEEP + "}", content_type="application/json")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("moment", [
    "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00-23:59", "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999-23:59", "0001-01-01", "9999-12-31",
])
@pytest.mark.parametrize("name", ["from", "to"])
def test_dates_at_the_edge_of_the_calendar_are_refused_naming_the_field(bob, name, moment):
    response = bob("GET", "/api/v1/invites", query_string={name: moment})
    assert response.status_code in (200, 422), response.get_json()
    if response.status_code == 422:
        assert name in response.get_json()["errors"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_cursor_holding_a_moment_at_the_edge_of_the_calendar_is_refused(bob, moment):
    cursor = base64.urlsafe_b64encode(f"{moment}|x".encode()).decode()
    response = bob("GET", "/api/v1/invites", query_string={"cursor": cursor})
    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]


@pytest.mark.parametrize("offset", [2**63, 2**64 + 1, 10**30])
def test_paging_offsets_beyond_64_bits_are_refused_naming_the_field(amy, offset):
    draft = upload(amy, csv_bytes([OFFICER_ROW])).get_json()["id"]
    response = amy("GET", f"/api/v1/batches/{draft}", query_string={"offset": offset})
    assert response.status_code == 422
    assert "offset" in response.get_json()["errors"]


@pytest.mark.parametrize("row", [2**63, 2**64 + 1, 10**30])
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_row_numbers_beyond_64_bits_are_not_found(amy, method, row):
    draft = upload(amy, csv_bytes([OFFICER_ROW])).get_json()["id"]
    response = amy(method, f"/api/v1/batches/{draft}/rows/{row}", json={"reason": "x"})
    assert response.status_code == 404


def test_a_portal_row_number_beyond_64_bits_is_not_found(portal_amy):
    draft = upload_page_draft(portal_amy)
    assert portal_amy.get(f"/invite/batch/{draft}/rows/{2**64}").status_code == 404


@pytest.fixture
def portal_amy(app):
    from tests.support.callers import signed_in

    app.config["WTF_CSRF_ENABLED"] = False
    return signed_in(app.test_client(), "amy@tech.gov.sg")


def upload_page_draft(client) -> str:
    import io

    response = client.post("/invite/batch", data={"file": (io.BytesIO(csv_bytes([OFFICER_ROW])), "r.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def test_a_row_edit_keeps_no_more_of_a_long_value_than_an_upload_would(amy):
    draft = upload(amy, csv_bytes([OFFICER_ROW])).get_json()["id"]
    response = amy("PATCH", f"/api/v1/batches/{draft}/rows/2", json={"reason": "z" * 1_000_000})
    assert response.status_code == 200
    row = response.get_json()
    assert len(row["fields"]["reason"]) == 1001 and "1,000" in row["errors"]["reason"][0]

"""Taking rows out of a draft through the API: the rows named or those needing attention, and undoing it."""
import pytest

from tests.support.callers import as_user
from tests.support.spreadsheets import OFFICER_ROW, VENDOR_ROW, csv_bytes, upload

pytestmark = pytest.mark.both_databases("removed rows are kept as JSON and inserted again under the draft's lock")

ANN = OFFICER_ROW | {"email": "ann.lee@tech.gov.sg"}
BROKEN = OFFICER_ROW | {"email": "ken@tech.gov.sg", "contact_number": "12"}


def draft_of(user, rows):
    response = upload(user, csv_bytes(rows))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def rows_of(user, draft_id):
    body = user("GET", f"/api/v1/batches/{draft_id}").get_json()
    return {r["row"]: r for r in body["rows"]}, body["error_count"]


def test_removing_rows_needing_attention_keeps_the_first_copy_of_each_person(amy):
    draft = draft_of(amy, [OFFICER_ROW, BROKEN, ANN, OFFICER_ROW, ANN, VENDOR_ROW])
    removed = amy("POST", f"/api/v1/batches/{draft['id']}/removals", json={"needing_attention": True})
    assert removed.status_code == 201
    assert removed.get_json() | {"id": None} == {"id": None, "rows": [3, 5, 6], "duplicate_count": 2}
    rows, error_count = rows_of(amy, draft["id"])
    assert sorted(rows) == [2, 4, 7] and error_count == 0


def test_a_person_whose_first_row_has_its_own_problem_keeps_a_later_copy(amy):
    draft = draft_of(amy, [OFFICER_ROW | {"contact_number": "12"}, OFFICER_ROW])
    removed = amy("POST", f"/api/v1/batches/{draft['id']}/removals", json={"needing_attention": True}).get_json()
    assert removed["rows"] == [2] and removed["duplicate_count"] == 0
    assert sorted(rows_of(amy, draft["id"])[0]) == [3]


def test_undo_puts_the_rows_back_in_their_places_with_their_problems(amy):
    draft = draft_of(amy, [OFFICER_ROW, BROKEN, ANN, ANN])
    before = rows_of(amy, draft["id"])
    removed = amy("POST", f"/api/v1/batches/{draft['id']}/removals", json={"rows": [3, 5]}).get_json()
    assert removed["rows"] == [3, 5]
    assert rows_of(amy, draft["id"])[0][4]["errors"] == {}  # ann's other copy is no longer a duplicate
    undone = amy("POST", f"/api/v1/batches/{draft['id']}/removals/{removed['id']}/undo")
    assert undone.status_code == 200 and undone.get_json() == {"rows": [3, 5]}
    assert rows_of(amy, draft["id"]) == before
    assert amy("POST", f"/api/v1/batches/{draft['id']}/removals/{removed['id']}/undo").status_code == 404


def test_removing_a_row_the_draft_lacks_removes_nothing_and_names_rows(amy):
    draft = draft_of(amy, [OFFICER_ROW, VENDOR_ROW])
    response = amy("POST", f"/api/v1/batches/{draft['id']}/removals", json={"rows": [2, 9]})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"rows"}
    assert sorted(rows_of(amy, draft["id"])[0]) == [2, 3]


@pytest.mark.parametrize("body", [
    {}, {"rows": [2], "needing_attention": True}, {"needing_attention": False}, {"rows": []}, {"rows": [2, 2]},
    {"rows": ["2"]}, {"rows": [1]}, {"needing_attention": "yes"}, {"rows": [2], "colour": "blue"}, [2],
])
def test_a_removal_body_that_is_not_one_clear_choice_is_refused(amy, body):
    draft = draft_of(amy, [OFFICER_ROW, VENDOR_ROW])
    response = amy("POST", f"/api/v1/batches/{draft['id']}/removals", json=body)
    assert response.status_code == 422, response.get_json()
    assert sorted(rows_of(amy, draft["id"])[0]) == [2, 3]


def test_another_requester_can_neither_remove_nor_undo(amy, client):
    zed = as_user(client, "zed@tech.gov.sg")
    draft = draft_of(amy, [OFFICER_ROW, VENDOR_ROW])
    assert zed("POST", f"/api/v1/batches/{draft['id']}/removals", json={"rows": [2]}).status_code == 404
    removed = amy("POST", f"/api/v1/batches/{draft['id']}/removals", json={"rows": [2]}).get_json()
    assert zed("POST", f"/api/v1/batches/{draft['id']}/removals/{removed['id']}/undo").status_code == 404
    assert sorted(rows_of(amy, draft["id"])[0]) == [3]


def test_a_submitted_draft_cannot_be_undone_into(amy):
    draft = draft_of(amy, [OFFICER_ROW, VENDOR_ROW])
    removed = amy("POST", f"/api/v1/batches/{draft['id']}/removals", json={"rows": [3]}).get_json()
    assert amy("POST", f"/api/v1/batches/{draft['id']}/submit").status_code == 201
    assert amy("POST", f"/api/v1/batches/{draft['id']}/removals/{removed['id']}/undo").status_code in (404, 409)


def test_the_openapi_document_describes_removals_and_undo(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    removals = paths["/api/v1/batches/{batch_id}/removals"]["post"]
    body = removals["requestBody"]["content"]["application/json"]["schema"]
    assert "201" in removals["responses"] and "422" in removals["responses"]
    assert "200" in paths["/api/v1/batches/{batch_id}/removals/{removal_id}/undo"]["post"]["responses"]
    assert body  # the schema of rows / needing_attention is referenced


def test_removed_rows_are_not_kept_once_the_draft_is_submitted_reset_or_expired(amy):
    import datetime as dt

    from invite_common.db import utcnow
    from intake.batches.expiry import delete_expired_drafts
    from intake.models import BatchDraft, BatchRemoval

    def removal_in(draft_id):
        amy("POST", f"/api/v1/batches/{draft_id}/removals", json={"rows": [3]})
        assert BatchRemoval.select().where(BatchRemoval.draft == draft_id).count() == 1

    submitted, reset, expired = (draft_of(amy, [OFFICER_ROW, VENDOR_ROW])["id"] for _ in range(3))
    for draft_id in (submitted, reset, expired):
        removal_in(draft_id)
    assert amy("POST", f"/api/v1/batches/{submitted}/submit").status_code == 201
    assert amy("DELETE", f"/api/v1/batches/{reset}/rows").status_code == 204
    BatchDraft.update(created_at=utcnow() - dt.timedelta(days=8)).where(BatchDraft.id == expired).execute()
    assert delete_expired_drafts(7) == 1
    assert BatchRemoval.select().count() == 0

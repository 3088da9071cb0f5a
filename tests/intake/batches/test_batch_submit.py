"""Submitting a draft: one invite request per row with its message in the outbox, all or none, once."""
import json

from intake.batches import service
from intake.models import HistoryEntry, InviteRequest
from tests.support.spreadsheets import OFFICER_ROW, VENDOR_ROW, csv_bytes, upload
import pytest

pytestmark = pytest.mark.both_databases("a batch is many inserts in one transaction, counted against the quota")

ROWS = [OFFICER_ROW, VENDOR_ROW, OFFICER_ROW | {"email": "ken@tech.gov.sg", "first_name": "Ken"}]


def draft_of(user, rows=ROWS):
    response = upload(user, csv_bytes(rows))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def messages(outbox):
    return [json.loads(m.body) for m in outbox.pending()]


def test_submit_creates_one_request_per_row_with_the_batch_id_and_its_message(amy, outbox):
    draft = draft_of(amy)
    response = amy("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert response.status_code == 201
    ids = response.get_json()["invites"]
    invites = {i.id: i for i in InviteRequest.select().where(InviteRequest.batch_id == draft["id"])}
    assert set(ids) == set(invites) and len(ids) == 3
    assert [invites[i].email for i in ids] == ["jane.tan@tech.gov.sg", "vic@vendor.example.com", "ken@tech.gov.sg"]
    assert {i.method for i in invites.values()} == {"create_account"}
    assert invites[ids[1]].contact_number == "+6598765432" and invites[ids[1]].username == "v-vic.lim"
    sent = messages(outbox)
    assert [m["type"] for m in sent] == ["invite.submitted"] * 3
    assert [m["payload"]["request_id"] for m in sent] == ids
    assert HistoryEntry.select().where(HistoryEntry.request_id.in_(ids)).count() == 3
    assert amy("GET", f"/api/v1/batches/{draft['id']}").get_json()["status"] == "submitted"
    listed = amy("GET", f"/api/v1/invites?batch={draft['id']}").get_json()["items"]
    assert {i["id"] for i in listed} == set(ids)


def test_submit_is_refused_while_rows_have_errors_and_returns_those_rows(amy, outbox):
    draft = draft_of(amy, ROWS + [OFFICER_ROW | {"email": "bad@", "contact_number": "12"}])
    response = amy("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"] == {"batch": ["1 row needs attention before the batch can be submitted."]}
    assert [r["row"] for r in body["rows"]] == [5] and set(body["rows"][0]["errors"]) == {"email", "contact_number"}
    assert InviteRequest.select().count() == 0 and messages(outbox) == []


def test_a_row_that_became_a_conflict_after_upload_stops_the_whole_batch(amy, outbox):
    draft = draft_of(amy)
    single = amy("POST", "/api/v1/invites", json=dict(OFFICER_ROW, email="ken@tech.gov.sg", method="create_account", seed_onboarding=False))
    assert single.status_code == 201
    response = amy("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert response.status_code == 422
    [row] = response.get_json()["rows"]
    assert row["row"] == 4 and single.get_json()["id"] in row["errors"]["email"][0]
    assert InviteRequest.select().count() == 1 and len(messages(outbox)) == 1
    review = amy("GET", f"/api/v1/batches/{draft['id']}").get_json()
    assert review["status"] == "draft" and review["row_count"] == 3 and review["error_count"] == 1


def test_a_conflict_found_only_while_creating_the_requests_undoes_those_already_created(amy, outbox, monkeypatch):
    draft = draft_of(amy)
    single = amy("POST", "/api/v1/invites", json=dict(OFFICER_ROW, email="ken@tech.gov.sg", method="create_account", seed_onboarding=False))
    # as if the other request had been opened between the final check and this row's insert
    monkeypatch.setattr(service, "check_open_requests", lambda rows, caller, in_directory=(): None)
    response = amy("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert response.status_code == 422
    assert "Nothing was submitted" in response.get_json()["errors"]["batch"][0]
    assert [i.id for i in InviteRequest.select()] == [single.get_json()["id"]]
    assert len(messages(outbox)) == 1 and HistoryEntry.select().count() == 1
    assert amy("GET", f"/api/v1/batches/{draft['id']}").get_json()["status"] == "draft"


def test_after_fixing_the_conflicting_row_the_batch_submits(amy, outbox):
    draft = draft_of(amy)
    amy("POST", "/api/v1/invites", json=dict(OFFICER_ROW, email="ken@tech.gov.sg", method="create_account", seed_onboarding=False))
    assert amy("POST", f"/api/v1/batches/{draft['id']}/submit").status_code == 422
    assert amy("PATCH", f"/api/v1/batches/{draft['id']}/rows/4", json={"email": "ken.lee@tech.gov.sg"}).get_json()["errors"] == {}
    assert amy("POST", f"/api/v1/batches/{draft['id']}/submit").status_code == 201
    assert len(messages(outbox)) == 4


def test_a_batch_is_submitted_only_once(amy, outbox):
    draft = draft_of(amy)
    assert amy("POST", f"/api/v1/batches/{draft['id']}/submit").status_code == 201
    again = amy("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert again.status_code == 409 and "already submitted" in again.get_json()["message"]
    assert InviteRequest.select().count() == 3 and len(messages(outbox)) == 3


def test_a_submitted_batch_can_no_longer_be_changed(amy):
    draft = draft_of(amy)
    amy("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert amy("PATCH", f"/api/v1/batches/{draft['id']}/rows/2", json={"first_name": "J"}).status_code == 409
    assert amy("DELETE", f"/api/v1/batches/{draft['id']}/rows/2").status_code == 409
    assert amy("DELETE", f"/api/v1/batches/{draft['id']}/rows").status_code == 409


def test_two_submits_at_once_let_exactly_one_in(app, amy, outbox):
    import threading

    from tests.support.callers import as_user

    draft = draft_of(amy)
    barrier, statuses = threading.Barrier(2), []

    def submit():
        user = as_user(app.test_client(), "amy@tech.gov.sg")
        barrier.wait()
        statuses.append(user("POST", f"/api/v1/batches/{draft['id']}/submit").status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(statuses) == [201, 409]
    assert InviteRequest.select().count() == 3 and len(messages(outbox)) == 3


def test_submit_checks_rows_again_so_an_error_that_went_away_does_not_block(amy, outbox):
    single = amy("POST", "/api/v1/invites", json=dict(OFFICER_ROW, method="create_account", seed_onboarding=False)).get_json()
    draft = draft_of(amy)
    assert draft["error_count"] == 1
    # as when approval reports the earlier request rejected: its email is free again
    InviteRequest.update(open_email=None, state="rejected").where(InviteRequest.id == single["id"]).execute()
    response = amy("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert response.status_code == 201 and len(response.get_json()["invites"]) == 3

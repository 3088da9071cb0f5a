"""The two exports' audiences: CSV for people and spreadsheets (Singapore time, the pages' words,
a column per detail, a byte-order mark), JSON Lines for scripts (the API's fields, unchanged)."""
import csv
import datetime as dt
import io
import json

import pytest

from intake.audit import sheet
from intake.auth import roles
from intake.db import database
from intake.models import HistoryEntry
from tests.intake.audit.test_audit_api import two_requests  # noqa: F401 (fixture)


def csv_rows(caller, query=""):
    response = caller("GET", f"/api/v1/audit/export.csv{query}")
    assert response.status_code == 200
    raw = response.get_data()
    return raw, list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_starts_with_a_byte_order_mark_and_names_the_zone_in_its_heading(people, two_requests):
    raw, rows = csv_rows(people["carol"])
    assert raw.startswith(b"\xef\xbb\xbf")
    assert list(rows[0])[:3] == ["Time (SGT)", "Event", "By"]


@pytest.mark.both_databases("the driver gives times as text (SQLite) or naive datetimes (PostgreSQL)")
def test_csv_times_are_singapore_time_to_the_second_so_an_evening_utc_event_falls_on_the_next_day(people, two_requests):
    jane, _ = two_requests
    HistoryEntry.update(at=dt.datetime(2026, 12, 6, 22, 5, 9, 123456, tzinfo=dt.timezone.utc)).where(
        (HistoryEntry.request_id == jane) & (HistoryEntry.event == "mark_emailed")).execute()
    _, rows = csv_rows(people["carol"], f"?request_id={jane}")
    emailed = next(r for r in rows if r["Event"] == "Invitation emailed")
    assert emailed["Time (SGT)"] == "2026-12-07 06:05:09"
    assert all(len(r["Time (SGT)"]) == 19 and "+" not in r["Time (SGT)"] for r in rows)


def test_csv_says_events_states_methods_and_actors_in_the_pages_words(people, two_requests):
    jane, kumar = two_requests
    _, rows = csv_rows(people["carol"], f"?request_id={jane}")
    assert [r["Event"] for r in rows] == ["Request submitted", "Approved", "TechPass account created",
                                          "Invitation emailed"]
    emailed = rows[-1]
    assert emailed["By"] == "Email service"
    assert (emailed["State before"], emailed["State after"]) == ("Account created", "Invitation sent")
    assert emailed["Method"] == "Email invitation" and emailed["Request state now"] == "Invitation sent"
    assert "mark_emailed" not in json.dumps(rows) and "account_created" not in json.dumps(rows)


def test_csv_puts_each_detail_in_a_named_column_and_no_json_in_any_cell(people, two_requests):
    jane, _ = two_requests
    with database.atomic():
        roles.grant("approver", "pat@tech.gov.sg", "admin@tech.gov.sg")
    _, rows = csv_rows(people["carol"])
    provision = next(r for r in rows if r["Event"] == "TechPass account created")
    assert provision["TechPass username"] == "jane.tan"
    assert next(r for r in rows if r["Event"] == "Invitation emailed")["Email Message-ID"] == "<abc@invites.local>"
    granted = next(r for r in rows if r["Event"] == "Role granted")
    assert (granted["Role"], granted["Role holder"], granted["By"]) == ("approver", "pat@tech.gov.sg", "admin@tech.gov.sg")
    assert "Other details" in rows[0] and "details" not in rows[0]
    assert not any(v.startswith(("{", "'{")) for r in rows for v in r.values())


def test_an_unexpected_detail_is_written_as_words_not_json():
    event = (7, 3, "2026-12-07 06:05:09.000001+00:00", "r1", "note", None, None, "system", "", '{"ticket_ref": "INC-42"}',
             "h", None, None, None, None, None)
    cells = dict(zip(sheet.HEADINGS, sheet.row(event)))
    assert cells["Other details"] == "Ticket ref: INC-42" and cells["Time (SGT)"] == "2026-12-07 14:05:09"
    assert cells["By"] == "Invite Users (automatic)" and cells["Event"] == "Note"


def test_sgt_reads_every_form_a_driver_gives():
    moment = dt.datetime(2026, 12, 6, 22, 5, 9, 999999)
    assert sheet.sgt(moment) == sheet.sgt(moment.replace(tzinfo=dt.timezone.utc)) == \
        sheet.sgt("2026-12-06 22:05:09.999999+00:00") == "2026-12-07 06:05:09"


def test_csv_formula_cells_stay_neutralised_in_every_column(people):
    amy, bob = people["amy"], people["bob"]
    invite = amy("POST", "/api/v1/invites", json={"method": "email_invitation", "email": "f@tech.gov.sg",
                                                  "seed_onboarding": False, "reason": "=1+1"}).get_json()["id"]
    HistoryEntry.update(details=json.dumps({"ticket_ref": "@SUM(A1)", "username": "-cmd"})).where(
        HistoryEntry.request_id == invite).execute()
    _, rows = csv_rows(people["carol"])
    [submitted] = rows
    assert submitted["Comment or reason"] == "'=1+1" and submitted["TechPass username"] == "'-cmd"
    assert submitted["Other details"] == "Ticket ref: @SUM(A1)"  # not at the start of its cell: inert


@pytest.mark.both_databases("the driver gives times as text (SQLite) or naive datetimes (PostgreSQL)")
def test_jsonl_lines_keep_the_apis_fields_codes_and_utc_times_exactly(people, two_requests):
    jane, _ = two_requests
    HistoryEntry.update(at=dt.datetime(2026, 12, 6, 22, 5, 9, 123456, tzinfo=dt.timezone.utc)).where(
        (HistoryEntry.request_id == jane) & (HistoryEntry.event == "mark_emailed")).execute()
    entry = HistoryEntry.get((HistoryEntry.request_id == jane) & (HistoryEntry.event == "mark_emailed"))
    response = people["carol"]("GET", f"/api/v1/audit/export.jsonl?request_id={jane}")
    raw = response.get_data(as_text=True)
    assert not raw.startswith("\ufeff")
    [line] = [line for line in raw.splitlines() if json.loads(line)["id"] == entry.id]
    assert line == (
        f'{{"id":{entry.id},"position":{entry.chain_seq},"at":"2026-12-06T22:05:09.123456+00:00",'
        f'"request_id":"{jane}","event":"mark_emailed","from_state":"account_created","to_state":"emailed",'
        f'"actor":"notifier","note":"","details":{{"smtp_message_id":"<abc@invites.local>"}},'
        f'"hash":"{entry.hash}","invitee_email":"jane.tan@tech.gov.sg","requester":"amy@tech.gov.sg",'
        f'"method":"email_invitation","request_state":"emailed","batch_id":null}}'
    )

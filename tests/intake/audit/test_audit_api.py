"""The audit API: events by filter with cursor paging, streamed exports that are safe in a
spreadsheet, and verification — for auditors only."""
import csv
import datetime as dt
import io
import json

import pytest
import schemathesis

from invite_common.messages import new_message
from intake.history import consumer
from intake.audit import chain
from intake.db import database
from intake.models import HistoryEntry

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+2", "-3", "@SUM(A1)", "\tTabbed", "\rReturn"]


def officer(email, reason="New joiner"):
    return {"method": "email_invitation", "email": email, "seed_onboarding": False, "reason": reason}


def changed(request_id, seq, from_state, to_state, verb, actor="system", note="", details=None):
    return new_message(
        "invite.state_changed",
        {"request_id": request_id, "seq": seq, "from_state": from_state, "to_state": to_state, "verb": verb,
         "actor": actor, "note": note, "changed_at": dt.datetime.now(dt.timezone.utc).isoformat(),
         "details": details or {}},
        correlation_id=request_id, producer="approval",
    )


def apply(env):
    with database.atomic():
        consumer.record_state_change(env)


@pytest.fixture
def two_requests(people, signer):
    """jane's request approved by bob and emailed; kumar's rejected by dana; both linked."""
    jane = people["amy"]("POST", "/api/v1/invites", json=officer("jane.tan@tech.gov.sg")).get_json()["id"]
    kumar = people["zed"]("POST", "/api/v1/invites", json=officer("kumar@agency.gov.sg", "Needs access")).get_json()["id"]
    assert people["bob"]("POST", f"/api/v1/invites/{jane}/approve", json={"comment": "Welcome"}).status_code == 202
    apply(changed(jane, 1, "submitted", "approved", "approve", actor="bob@tech.gov.sg", note="Welcome"))
    apply(changed(jane, 2, "approved", "account_created", "provision", details={"username": "jane.tan"}))
    apply(changed(jane, 3, "account_created", "emailed", "mark_emailed", actor="notifier",
                  details={"smtp_message_id": "<abc@invites.local>"}))
    apply(changed(kumar, 1, "submitted", "rejected", "reject", actor="dana@tech.gov.sg", note="Not needed"))
    chain.link_pending(signer)
    chain.sign_head(signer)
    return jane, kumar


def test_events_of_one_request_come_in_order_with_their_request(people, two_requests):
    jane, _ = two_requests
    body = people["carol"]("GET", f"/api/v1/audit/events?request_id={jane}&order=oldest").get_json()
    assert [e["event"] for e in body["items"]] == ["submit", "approve", "provision", "mark_emailed"]
    first = body["items"][0]
    assert first["invitee_email"] == "jane.tan@tech.gov.sg" and first["requester"] == "amy@tech.gov.sg"
    assert first["note"] == "New joiner" and first["position"] is not None and body["next_cursor"] is None


@pytest.mark.parametrize("query, expected", [
    ("email=TAN@tech", {"jane.tan@tech.gov.sg"}),
    ("requester=zed@tech.gov.sg", {"kumar@agency.gov.sg"}),
    ("approver=dana@tech.gov.sg", {"kumar@agency.gov.sg"}),
    ("state=emailed", {"jane.tan@tech.gov.sg"}),
    ("method=create_account", set()),
])
def test_events_filter_by_request(people, two_requests, query, expected):
    items = people["carol"]("GET", f"/api/v1/audit/events?{query}").get_json()["items"]
    assert {e["invitee_email"] for e in items} == expected


def test_events_filter_by_time_range(people, two_requests):
    HistoryEntry.update(at=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)).where(HistoryEntry.event == "reject").execute()
    items = people["carol"]("GET", "/api/v1/audit/events?from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00%2B08:00").get_json()["items"]
    assert [e["event"] for e in items] == ["reject"]


def test_events_page_with_a_cursor_until_the_end(people, two_requests):
    carol = people["carol"]
    seen, cursor = [], None
    while True:
        body = carol("GET", "/api/v1/audit/events?limit=3" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == HistoryEntry.select().count()


@pytest.mark.parametrize("query, field", [("state=nope", "state"), ("cursor=bad", "cursor"), ("colour=red", "colour"),
                                          ("from=yesterday", "from"), ("limit=0", "limit")])
def test_bad_filters_are_refused_naming_the_field(people, two_requests, query, field):
    response = people["carol"]("GET", f"/api/v1/audit/events?{query}")
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_csv_export_neutralises_formulas_and_round_trips(people, signer):
    amy = people["amy"]
    tricky = ["Quote \"inside\", comma", "Line one\nline two\nline three", "日本語のテキスト – Tamil தமிழ்"]
    typed = FORMULAS[:4] + tricky
    ids = [amy("POST", "/api/v1/invites", json=officer(f"user{i}@tech.gov.sg", reason)).get_json()["id"]
           for i, reason in enumerate(typed)]
    # the portal trims a reason's leading white space; an approver's comment reaches history as sent
    for seq, note in enumerate(FORMULAS[4:], start=1):
        apply(changed(ids[0], seq, "submitted", "submitted", "note", actor="bob@tech.gov.sg", note=note))
    response = people["carol"]("GET", "/api/v1/audit/export.csv")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8-sig")
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["Comment or reason"] for r in rows] == ["'" + f for f in FORMULAS[:4]] + tricky + ["'" + f for f in FORMULAS[4:]]
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_jsonl_export_keeps_the_values_as_they_are(people):
    amy = people["amy"]
    for i, reason in enumerate(FORMULAS[:2] + ["日本語"]):
        amy("POST", "/api/v1/invites", json=officer(f"user{i}@tech.gov.sg", reason))
    response = people["carol"]("GET", "/api/v1/audit/export.jsonl?email=user")
    lines = response.get_data(as_text=True).splitlines()
    assert [json.loads(line)["note"] for line in lines] == FORMULAS[:2] + ["日本語"]


def test_export_is_streamed_in_pieces(people):
    from intake.audit import export

    amy = people["amy"]
    for i in range(3):
        amy("POST", "/api/v1/invites", json=officer(f"user{i}@tech.gov.sg"))
    rows = list(export.iter_event_rows(export.Filters(), chunk=2))
    assert len(rows) == 3
    pieces = list(export.csv_stream(iter(rows * 400)))
    assert len(pieces) > 2 and all(p.count("\r\n") <= export.ROWS_PER_PIECE + 1 for p in pieces)


def test_verify_answers_intact_then_names_a_changed_entry(people, two_requests):
    carol = people["carol"]
    body = carol("GET", "/api/v1/audit/verify").get_json()
    assert body["intact"] is True, body["reason"]
    assert body["checked"] == 6 and body["first_bad"] is None and body["reason"] is None
    target = HistoryEntry.get(HistoryEntry.event == "approve")
    HistoryEntry.update(note="Approved without checks").where(HistoryEntry.id == target.id).execute()
    body = carol("GET", "/api/v1/audit/verify").get_json()
    assert body["intact"] is False and body["first_bad"]["id"] == target.id and "changed" in body["reason"]


@pytest.mark.parametrize("name", ["amy", "bob", "zed"])
@pytest.mark.parametrize("path", ["/api/v1/audit/events", "/api/v1/audit/export.csv", "/api/v1/audit/export.jsonl",
                                  "/api/v1/audit/verify"])
def test_only_auditors_may_use_the_audit_api(people, name, path):
    response = people[name]("GET", path)
    assert response.status_code == 403 and b"auditors" in response.data


def test_the_audit_api_needs_a_caller(client):
    assert client.get("/api/v1/audit/events").status_code == 401


def test_role_changes_are_events_too(people):
    from intake.auth import roles

    with database.atomic():
        roles.grant("approver", "eve@tech.gov.sg", "ada@tech.gov.sg")
    [event] = people["carol"]("GET", "/api/v1/audit/events").get_json()["items"]
    assert (event["event"], event["actor"], event["invitee_email"]) == ("role_granted", "ada@tech.gov.sg", None)
    assert people["carol"]("GET", "/api/v1/audit/events?state=emailed").get_json()["items"] == []


def test_every_audit_answer_is_the_one_documented(people, two_requests):
    """Filled-in answers (request and role events, a signed head, a named bad entry, both exports)
    against the app's own document: every field as described, nulls only where it allows them."""
    from intake.auth import roles

    document = people["carol"]("GET", "/api/openapi.json").get_json()
    api = schemathesis.openapi.from_dict(document)
    carol = people["carol"]
    with database.atomic():
        roles.grant("approver", "eve@tech.gov.sg", "ada@tech.gov.sg")

    events = carol("GET", "/api/v1/audit/events?limit=2")
    assert events.get_json()["next_cursor"] is not None
    every = carol("GET", "/api/v1/audit/events?order=oldest")
    assert {e["invitee_email"] for e in every.get_json()["items"]} >= {None, "jane.tan@tech.gov.sg"}
    intact = carol("GET", "/api/v1/audit/verify")
    assert intact.get_json()["last_signed_head"] is not None
    HistoryEntry.update(note="Approved without checks").where(HistoryEntry.event == "approve").execute()
    broken = carol("GET", "/api/v1/audit/verify")
    assert broken.get_json()["first_bad"] is not None
    for path, response in [("/api/v1/audit/events", events), ("/api/v1/audit/events", every),
                           ("/api/v1/audit/verify", intact), ("/api/v1/audit/verify", broken)]:
        api[path]["GET"].validate_response(response)

    for path in ("/api/v1/audit/export.csv", "/api/v1/audit/export.jsonl"):
        response = carol("GET", path)
        documented = document["paths"][path]["get"]["responses"]["200"]
        assert response.status_code == 200 and response.mimetype in documented["content"]
        assert set(documented["headers"]) <= set(response.headers.keys())
        assert response.get_data(as_text=True)  # read to the end, so the stream's context closes here
        response.close()

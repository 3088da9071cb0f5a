"""Role grants and revocations for auditors: searched by person, role, who made them and dates on
the portal and the API, each at a page of its own, and linked from every page that names one."""
import datetime as dt

import pytest

from intake.audit import chain
from intake.auth import roles
from intake.db import database
from intake.models import HistoryEntry
from tests.support.callers import as_user, signed_in
from tests.support.portal_html import field_error, text


@pytest.fixture
def changes():
    """pat was made an approver by the admin and lost it to ROLE_GRANTS; quinn was made an auditor."""
    with database.atomic():
        roles.grant("approver", "pat@tech.gov.sg", "admin@tech.gov.sg")
        roles.grant("auditor", "quinn@tech.gov.sg", "admin@tech.gov.sg")
        roles.revoke("approver", "pat@tech.gov.sg", roles.FROM_ROLE_GRANTS)
    # each a day apart, so dates can tell them apart
    entries = list(HistoryEntry.select().where(HistoryEntry.request_id == roles.ROLE_HISTORY_KEY).order_by(HistoryEntry.id))
    for day, entry in enumerate(entries):
        HistoryEntry.update(at=dt.datetime(2026, 11, 1 + day, 3, tzinfo=dt.timezone.utc)).where(
            HistoryEntry.id == entry.id).execute()
    return {(e.event, e.note): e.id for e in entries}


def listed(carol, query=""):
    page = carol.get(f"/audit/roles{query}").get_data(as_text=True)
    return text(page)


@pytest.mark.both_databases("filters: case-insensitive LIKE on the note, day ranges on the time")
@pytest.mark.parametrize("query, shown, hidden", [
    ("", ["pat@tech.gov.sg", "quinn@tech.gov.sg"], []),
    ("?person=PAT@tech.gov.sg", ["pat@tech.gov.sg"], ["quinn@tech.gov.sg"]),
    ("?role=auditor", ["quinn@tech.gov.sg"], ["pat@tech.gov.sg"]),
    ("?by=ROLE_GRANTS", ["Role revoked"], ["quinn@tech.gov.sg", "Role granted"]),
    ("?by=Admin@tech.gov.sg&role=approver", ["Role granted"], ["Role revoked", "quinn@tech.gov.sg"]),
    ("?from=2026-11-02&to=2026-11-02", ["quinn@tech.gov.sg"], ["pat@tech.gov.sg"]),
])
def test_role_changes_are_searched_by_person_role_who_and_singapore_days(carol, changes, query, shown, hidden):
    page = listed(carol, query)
    for words in shown:
        assert words in page
    for words in hidden:
        assert words not in page


def test_a_role_search_counts_and_names_a_bad_filter_beside_its_field(carol, changes):
    page = text(carol.get("/audit/roles").get_data(as_text=True))
    assert "Showing 1 to 3 of 3 role changes" in page
    answer = carol.get("/audit/roles?role=requester&from=soon")
    assert answer.status_code == 422
    assert field_error(answer.get_data(as_text=True), "filter-role") == "Error: Choose one of the options in the list."
    assert field_error(answer.get_data(as_text=True), "filter-from") == "Error: Enter a date like 2027-01-31."


def test_each_role_change_has_a_page_with_the_persons_role_timeline(carol, changes):
    granted = changes[("role_granted", "approver pat@tech.gov.sg")]
    revoked = changes[("role_revoked", "approver pat@tech.gov.sg")]
    search = carol.get("/audit/roles").get_data(as_text=True)
    assert f'href="/audit/roles/{granted}"' in search
    page = carol.get(f"/audit/roles/{granted}")
    assert page.status_code == 200
    words = text(page.get_data(as_text=True))
    assert "Role granted: Approver for pat@tech.gov.sg" in words and "Granted by admin@tech.gov.sg" in words
    assert "1 Nov 2026, 11:00 am SGT" in words
    assert f'href="/audit/roles/{revoked}"' in page.get_data(as_text=True)  # the next change in the timeline
    assert "quinn" not in words


@pytest.mark.parametrize("path", ["/audit/roles/999999", "/audit/roles/99999999999999999999999"])
def test_an_entry_that_is_no_role_change_is_not_found(client, carol, changes, path):
    [invite] = [as_user(client, "amy@tech.gov.sg")("POST", "/api/v1/invites", json={
        "method": "email_invitation", "email": "x@tech.gov.sg", "seed_onboarding": False, "reason": "r"}).get_json()["id"]]
    submitted = HistoryEntry.get(HistoryEntry.request_id == invite).id
    assert carol.get(path).status_code == 404
    assert carol.get(f"/audit/roles/{submitted}").status_code == 404


def test_the_history_key_of_role_changes_leads_to_their_search(carol, changes):
    answer = carol.get(f"/audit/requests/{roles.ROLE_HISTORY_KEY}")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/audit/roles")


def test_the_request_search_and_the_navigation_lead_to_role_changes(carol):
    page = carol.get("/audit").get_data(as_text=True)
    assert 'find them under <a href="/audit/roles">Role changes</a>' in page
    assert page.count('href="/audit/roles"') == 2  # and in the navigation


@pytest.mark.parametrize("who", ["amy@tech.gov.sg", "bob@tech.gov.sg"])
def test_only_auditors_see_role_changes(app, changes, who):
    app.config["WTF_CSRF_ENABLED"] = False
    other = signed_in(app.test_client(), who)
    for path in ("/audit/roles", f"/audit/roles/{next(iter(changes.values()))}"):
        assert other.get(path).status_code in (302, 403)


@pytest.mark.both_databases("a keyset cursor on (time, id) and LIKE filters")
def test_the_api_lists_role_changes_by_filter_with_a_cursor_and_shows_one(client, changes):
    carol = as_user(client, "carol@tech.gov.sg")
    body = carol("GET", "/api/v1/audit/role-changes?person=pat@tech.gov.sg&limit=1").get_json()
    [first] = body["items"]
    assert (first["event"], first["role"], first["person"], first["by"]) == \
        ("role_revoked", "approver", "pat@tech.gov.sg", "ROLE_GRANTS")
    rest = carol("GET", f"/api/v1/audit/role-changes?person=pat@tech.gov.sg&cursor={body['next_cursor']}").get_json()
    assert [(i["event"], i["by"]) for i in rest["items"]] == [("role_granted", "admin@tech.gov.sg")]
    assert rest["next_cursor"] is None
    one = carol("GET", f"/api/v1/audit/role-changes/{first['id']}")
    assert one.status_code == 200 and one.get_json() == first
    assert carol("GET", "/api/v1/audit/role-changes/999999").status_code == 404
    assert carol("GET", "/api/v1/audit/role-changes?role=requester").status_code == 422
    assert carol("GET", "/api/v1/audit/role-changes?colour=red").status_code == 422
    assert as_user(client, "amy@tech.gov.sg")("GET", "/api/v1/audit/role-changes").status_code == 403


def test_the_integrity_page_links_a_failing_role_change_and_says_what_to_do(carol, changes, signer):
    chain.link_pending(signer)
    chain.sign_head(signer)
    target = changes[("role_granted", "auditor quinn@tech.gov.sg")]
    HistoryEntry.update(note="admin quinn@tech.gov.sg").where(HistoryEntry.id == target).execute()
    page = carol.get("/audit/integrity").get_data(as_text=True)
    assert f'href="/audit/roles/{target}"' in page
    words = text(page)
    assert "What to do now" in words and "Keep the evidence." in words and "Export the whole history now" in words
    assert "Tell the security team at once" in words and "python -m intake audit verify with --json" in words
    assert 'When audit verify fails' in words and "deploy/RUNBOOK.md" in words
    assert 'href="/audit/export.jsonl"' in page


def test_the_integrity_page_links_a_failing_request_entry_in_its_timeline(client, carol, signer):
    invite = as_user(client, "amy@tech.gov.sg")("POST", "/api/v1/invites", json={
        "method": "email_invitation", "email": "x@tech.gov.sg", "seed_onboarding": False, "reason": "r"}).get_json()["id"]
    chain.link_pending(signer)
    chain.sign_head(signer)
    entry = HistoryEntry.get(HistoryEntry.request_id == invite)
    HistoryEntry.update(note="changed").where(HistoryEntry.id == entry.id).execute()
    page = carol.get("/audit/integrity").get_data(as_text=True)
    assert f'href="/audit/requests/{invite}#entry-{entry.id}"' in page
    assert f'id="entry-{entry.id}"' in carol.get(f"/audit/requests/{invite}").get_data(as_text=True)
    assert "What to do now" in text(page)


def test_an_intact_history_shows_no_steps_for_a_failure(carol, signer):
    chain.link_pending(signer)
    chain.sign_head(signer)
    assert "What to do now" not in text(carol.get("/audit/integrity").get_data(as_text=True))

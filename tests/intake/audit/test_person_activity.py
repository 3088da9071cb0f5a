"""Everything one person did, for auditors: the events filter `person` on the API, in every capacity
(requester, invitee, approver, administrator, the person a role change was about) and nobody else's."""
import datetime as dt

import pytest

from intake.audit import chain, queries
from intake.auth import roles
from intake.db import database
from intake.models import HistoryEntry
from tests.intake.audit.test_audit_api import apply, changed, officer


@pytest.fixture
def activity(people, signer):
    """bob asks for lee; amy asks for jane and bob approves it; zed asks for kumar and dana rejects it;
    the admin makes bob an administrator and bob makes quinn an auditor. Each entry a minute apart."""
    lee = people["bob"]("POST", "/api/v1/invites", json=officer("lee@tech.gov.sg")).get_json()["id"]
    jane = people["amy"]("POST", "/api/v1/invites", json=officer("jane.tan@tech.gov.sg")).get_json()["id"]
    kumar = people["zed"]("POST", "/api/v1/invites", json=officer("kumar@agency.gov.sg")).get_json()["id"]
    assert people["bob"]("POST", f"/api/v1/invites/{jane}/approve", json={"comment": "Welcome"}).status_code == 202
    apply(changed(jane, 1, "submitted", "approved", "approve", actor="bob@tech.gov.sg", note="Welcome"))
    apply(changed(kumar, 1, "submitted", "rejected", "reject", actor="dana@tech.gov.sg", note="Not needed"))
    with database.atomic():
        roles.grant("admin", "bob@tech.gov.sg", "admin@tech.gov.sg")
        roles.grant("auditor", "quinn@tech.gov.sg", "bob@tech.gov.sg")
        roles.grant("approver", "dana@tech.gov.sg", "admin@tech.gov.sg")
    # recorded out of time order on purpose: the answer must follow the time, not the id
    entries = list(HistoryEntry.select().order_by(HistoryEntry.id))
    start = dt.datetime(2026, 11, 2, 1, tzinfo=dt.timezone.utc)
    for minute, entry in zip((5, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11), entries):
        HistoryEntry.update(at=start + dt.timedelta(minutes=minute)).where(HistoryEntry.id == entry.id).execute()
    chain.link_pending(signer)
    return {"lee": lee, "jane": jane, "kumar": kumar}


def events(carol, query):
    body = carol("GET", f"/api/v1/audit/events?{query}").get_json()
    return body["items"]


@pytest.mark.both_databases("an OR of a subquery, the actor and a LIKE on role notes, keyset-paged in time order")
def test_a_persons_events_show_every_capacity_and_nobody_elses(people, activity):
    items = events(people["carol"], "person=Bob@Tech.gov.sg&order=oldest")
    found = {(e["request_id"], e["event"]) for e in items}
    assert (activity["lee"], "submit") in found                     # requester
    assert (activity["jane"], "approve") in found                   # approver
    assert (roles.ROLE_HISTORY_KEY, "role_granted") in found        # made an administrator, and made quinn an auditor
    notes = {e["note"] for e in items if e["request_id"] == roles.ROLE_HISTORY_KEY}
    assert notes == {"admin bob@tech.gov.sg", "auditor quinn@tech.gov.sg"}
    assert activity["kumar"] not in {e["request_id"] for e in items}
    assert (activity["jane"], "submit") not in found                # amy's doing, not bob's
    capacities = {queries.capacity(e, "bob@tech.gov.sg") for e in items}
    assert capacities == {"requester", "approver", "administrator", "role holder"}


@pytest.mark.both_databases("invitees matched by person key, as earlier requests are found")
def test_an_invitee_is_found_by_any_of_their_addresses(people, activity):
    items = events(people["carol"], "person=JANE.TAN%2Bwork@tech.gov.sg")
    assert {e["request_id"] for e in items} == {activity["jane"]}
    assert {queries.capacity(e, "jane.tan@tech.gov.sg") for e in items} == {"invitee"}


@pytest.mark.both_databases("keyset cursor on (time, id) with the person filter")
def test_a_persons_events_come_in_time_order_a_page_at_a_time(people, activity):
    carol = people["carol"]
    everything = events(carol, "person=bob@tech.gov.sg&order=oldest&limit=500")
    moments = [(e["at"], e["id"]) for e in everything]
    assert moments == sorted(moments) and len(everything) == 4
    assert [i for _, i in moments] != sorted(i for _, i in moments)  # time order, not the order recorded
    seen, cursor = [], None
    while True:
        body = carol("GET", "/api/v1/audit/events?person=bob@tech.gov.sg&order=oldest&limit=2"
                            + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in everything]


def test_the_person_filter_combines_with_dates(people, activity):
    items = events(people["carol"], "person=bob@tech.gov.sg&from=2026-11-02T01:06:00Z&to=2026-11-02T01:09:00Z")
    assert items and all("2026-11-02T01:06" <= e["at"] < "2026-11-02T01:09" for e in items)
    assert len(items) < len(events(people["carol"], "person=bob@tech.gov.sg"))


@pytest.mark.parametrize("person", ["bob", "bob@", "Bob Tan <bob@tech.gov.sg>", "", "x" * 300 + "@tech.gov.sg"])
def test_a_person_who_is_no_email_address_is_refused_naming_person(people, activity, person):
    response = people["carol"]("GET", f"/api/v1/audit/events?person={person}")
    assert response.status_code == 422 and "person" in response.get_json()["errors"]


def test_only_auditors_may_ask_what_a_person_did(people, activity):
    assert people["amy"]("GET", "/api/v1/audit/events?person=bob@tech.gov.sg").status_code == 403

"""The approver's queue as a Monday-morning approver reads it: a batch upload as one row to open, its
page summing up its warnings and deciding through the same confirmation step, the queue sorted by age,
requester or invitee (the API too), the last filters and sort kept for the next visit, and Next request
following them."""
import datetime as dt
import re

import pytest

from intake.approvals import queue
from intake.auth.identity import Caller
from intake.models import InviteRequest
from tests.intake.portal.test_approval_pages import bob_session, decisions, submit  # noqa: F401 (fixture)
from tests.support.callers import as_user
from tests.support.portal_html import text
from tests.support.spreadsheets import OFFICER_ROW, VENDOR_ROW, csv_bytes, upload

pytestmark = pytest.mark.both_databases("the queue is grouped (UNION, GROUP BY) and sorted in SQL, and paged by keys")


def uploaded(user, rows, filename="monday.csv") -> str:
    """Submit `rows` as one batch upload by `user`; the batch's id."""
    draft = upload(user, csv_bytes(rows), filename).get_json()
    assert user("POST", f"/api/v1/batches/{draft['id']}/submit").status_code == 201
    return draft["id"]


def aged(email: str, days: int) -> None:
    """Make the request for `email` wait `days` days."""
    InviteRequest.update(created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).where(
        InviteRequest.email == email).execute()


def rows(page: str) -> list[str]:
    """The words of the queue table's body rows, in order."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return [text(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def officers(*names):
    return [OFFICER_ROW | {"email": f"{n}@tech.gov.sg"} for n in names]


def test_a_batch_upload_is_one_row_of_the_queue_and_single_requests_stay_rows(bob_session, amy):
    submit(amy, "single@tech.gov.sg")
    batch = uploaded(amy, officers("b1", "b2", "b3"), "monday.csv")
    page = bob_session.get("/approvals").text
    shown = rows(page)
    assert len(shown) == 2
    assert any("single@tech.gov.sg" in r for r in shown)
    batch_row = next(r for r in shown if "Batch of 3 from amy@tech.gov.sg" in r)
    assert "“monday.csv”, submitted" in batch_row
    assert f'href="/approvals?batch={batch}"' in page
    assert "b1@tech.gov.sg" not in page
    assert "4 requests wait for a decision" in text(page)


def test_a_batchs_page_lists_its_requests_with_a_summary_of_their_warnings(bob_session, amy):
    vendor = VENDOR_ROW | {"email": "vic@tech.gov.sg", "username": "v-vic.one"}
    offshore = VENDOR_ROW | {"email": "ola@acme.example.com", "username": "v-ola.two", "offshore": "yes"}
    batch = uploaded(amy, [vendor, offshore] + officers("plain"))
    page = bob_session.get("/approvals", query_string={"batch": batch}).text
    words = text(page)
    assert "3 of its requests wait for your decision" in words
    summary = text(re.search(r'id="batch-summary">(.*?)</ul>', page, re.S).group(1))
    assert "1 vendor at a public-officer address" in summary and "1 offshore vendor" in summary
    assert "A vendor with a public-officer address" in next(r for r in rows(page) if "vic@tech.gov.sg" in r)
    assert len(rows(page)) == 3 and "Approve selected" in page


def test_a_batchs_rows_are_decided_through_the_one_confirmation_step(bob_session, amy, outbox):
    batch = uploaded(amy, officers("keep", "drop"))
    keep, drop = (InviteRequest.get(InviteRequest.email == f"{n}@tech.gov.sg").id for n in ("keep", "drop"))
    asked = bob_session.post("/approvals/decide", query_string={"batch": batch},
                             data={"ids": [keep], "decision": "approve", "note": ""})
    assert "Approve 1 selected request?" in text(asked.text) and decisions(outbox) == []
    done = bob_session.post("/approvals/decide", query_string={"batch": batch},
                            data={"ids": [keep], "decision": "approve", "note": "", "confirmed": "yes"})
    assert done.status_code == 200 and [d["request_id"] for d in decisions(outbox)] == [keep]
    back = bob_session.get("/approvals", query_string={"batch": batch}).text
    assert "drop@tech.gov.sg" in back and "keep@tech.gov.sg" not in back


def test_a_batch_row_counts_only_the_requests_the_approver_may_decide(bob_session, amy, client):
    uploaded(amy, officers("x1", "x2") + [OFFICER_ROW | {"email": "bob@tech.gov.sg"}])
    uploaded(as_user(client, "bob@tech.gov.sg"), officers("mine1", "mine2"), "bobs.csv")
    shown = rows(bob_session.get("/approvals").text)
    assert len(shown) == 1 and "Batch of 2 from amy@tech.gov.sg" in shown[0]


@pytest.mark.parametrize("sort,expected", [
    ("age", ["old@tech.gov.sg", "Batch of 2", "new@tech.gov.sg"]),
    ("requester", ["new@tech.gov.sg", "Batch of 2", "old@tech.gov.sg"]),
    ("invitee", ["Batch of 2", "new@tech.gov.sg", "old@tech.gov.sg"]),
])
def test_the_queue_sorts_by_age_requester_or_invitee_with_batches_in_place(bob_session, amy, client, sort, expected):
    zed = as_user(client, "zed@tech.gov.sg")
    uploaded(as_user(client, "ann@tech.gov.sg"), officers("a-first", "z-last"))
    submit(zed, "old@tech.gov.sg")
    submit(amy, "new@tech.gov.sg")
    aged("old@tech.gov.sg", 3)
    aged("a-first@tech.gov.sg", 2)
    aged("z-last@tech.gov.sg", 1)
    shown = rows(bob_session.get("/approvals", query_string={"sort": sort}).text)
    assert [next(e for e in expected if e in r) for r in shown] == expected


def test_sorting_keeps_the_filters_and_a_wrong_sort_is_named(bob_session, amy):
    submit(amy, "b@hr.gov.sg")
    submit(amy, "a@hr.gov.sg")
    submit(amy, "c@tech.gov.sg")
    page = bob_session.get("/approvals", query_string={"sort": "invitee", "email": "hr.gov"}).text
    assert [next(e for e in ("a@hr", "b@hr") if e in r) for r in rows(page)] == ["a@hr", "b@hr"]
    assert 'name="email" value="hr.gov"' in page.replace('type="hidden" ', "")
    assert '<option value="invitee" selected>' in page
    wrong = bob_session.get("/approvals", query_string={"sort": "salary"})
    assert wrong.status_code == 422 and 'href="#filter-sort"' in wrong.text and 'id="filter-sort-error"' in wrong.text


def test_the_queue_keeps_the_last_filters_and_sort_until_cleared(bob_session, amy):
    submit(amy, "kept@tech.gov.sg", seed_onboarding=True)
    submit(amy, "other@tech.gov.sg")
    bob_session.get("/approvals", query_string={"seed": "yes", "sort": "invitee"})
    back = bob_session.get("/approvals")
    assert back.status_code == 302 and back.headers["Location"] == "/approvals?seed=yes&sort=invitee"
    page = bob_session.get(back.headers["Location"]).text
    assert "kept@tech.gov.sg" in page and "other@tech.gov.sg" not in page and "Clear filters" in page
    cleared = bob_session.get("/approvals", query_string={"clear": "yes"}, follow_redirects=True)
    assert "other@tech.gov.sg" in cleared.text and bob_session.get("/approvals").status_code == 200


def test_a_batchs_page_and_a_wrong_filter_are_not_remembered(bob_session, amy):
    batch = uploaded(amy, officers("in-batch"))
    bob_session.get("/approvals", query_string={"requester": "amy"})
    bob_session.get("/approvals", query_string={"batch": batch})
    bob_session.get("/approvals", query_string={"older_than": "soon"})
    assert bob_session.get("/approvals").headers["Location"] == "/approvals?requester=amy"


def test_next_request_follows_the_remembered_sort_and_filters(bob_session, amy):
    for name in ("c", "a", "b", "skip"):
        submit(amy, f"{name}@hr.gov.sg" if name != "skip" else "skip@tech.gov.sg")
    bob_session.get("/approvals", query_string={"sort": "invitee", "email": "hr.gov"})
    first = InviteRequest.get(InviteRequest.email == "a@hr.gov.sg")
    bob_session.post(f"/approvals/{first.id}/approve", data={"comment": ""})
    page = bob_session.get(f"/approvals/{first.id}").text
    second = InviteRequest.get(InviteRequest.email == "b@hr.gov.sg")
    assert f'href="/approvals/{second.id}">Next request' in page


def test_the_queue_query_never_holds_the_approvers_own_requests_or_invitations(amy, client):
    uploaded(as_user(client, "bob@tech.gov.sg"), officers("by-bob"))
    submit(amy, "bob+other@tech.gov.sg")
    submit(amy, "fine@tech.gov.sg")
    bob = Caller(email="bob@tech.gov.sg", roles=frozenset({"approver"}))
    for sort in queue.SORTS:
        found = queue.rows_of(list(queue.grouped_queue(bob, queue.QueueFilters(sort=sort), dt.datetime.now(dt.timezone.utc)).dicts()))
        assert [(r.invitee, r.is_batch, r.size) for r in found] == [("fine@tech.gov.sg", False, 1)]


def test_the_apis_queue_sorts_and_pages_by_the_same_order(bob, amy, client):
    zed = as_user(client, "zed@tech.gov.sg")
    for n in range(5):
        submit(zed if n % 2 else amy, f"p{n}@tech.gov.sg")
    seen, cursor = [], None
    while True:
        args = {"sort": "requester", "limit": 2} | ({"cursor": cursor} if cursor else {})
        body = bob("GET", "/api/v1/approvals", query_string=args).get_json()
        seen += [(i["requester"], i["email"]) for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen, key=lambda s: s[0]) and len(seen) == 5 and body["total"] == 5
    assert [s[1] for s in seen[:3]] == ["p0@tech.gov.sg", "p2@tech.gov.sg", "p4@tech.gov.sg"]
    first = bob("GET", "/api/v1/approvals", query_string={"sort": "invitee", "limit": 2}).get_json()
    mixed = bob("GET", "/api/v1/approvals", query_string={"sort": "requester", "cursor": first["next_cursor"]})
    assert mixed.status_code == 422 and "cursor" in mixed.get_json()["errors"]
    oldest = bob("GET", "/api/v1/approvals", query_string={"limit": 2}).get_json()
    assert bob("GET", "/api/v1/approvals", query_string={"cursor": oldest["next_cursor"]}).status_code == 200


def test_next_request_goes_on_to_the_rest_of_the_queue_once_the_filters_hold_no_more(bob_session, amy):
    only = submit(amy, "only@hr.gov.sg")
    other = submit(amy, "other@tech.gov.sg")
    bob_session.get("/approvals", query_string={"email": "hr.gov"})
    bob_session.post(f"/approvals/{only}/approve", data={"comment": ""})
    assert f'href="/approvals/{other}">Next request' in bob_session.get(f"/approvals/{only}").text

"""The auditors' pages through Flask's test client: search with a count and pages, dates as
Singapore days, the timeline, exports for the current filters, and nothing for anyone else."""
import csv
import datetime as dt
import io

import pytest

from intake.models import HistoryEntry, InviteRequest
from tests.support.callers import as_user
from tests.support.portal_html import field_error, text


def submit(client, email, n=1, requester="amy@tech.gov.sg"):
    amy = as_user(client, requester)
    return [amy("POST", "/api/v1/invites", json={"method": "email_invitation", "email": f"{email}{i}@tech.gov.sg",
                                                 "seed_onboarding": False, "reason": "New joiner"}).get_json()["id"]
            for i in range(n)]


def test_an_auditor_lands_on_the_search_and_is_sent_back_from_requester_pages(carol):
    assert carol.get("/").headers["Location"].endswith("/audit")
    assert carol.get("/invite/email").headers["Location"].endswith("/audit")
    page = carol.get("/audit").get_data(as_text=True)
    assert "<h1 class=\"heading-xl\">Audit history</h1>" in page and "Invite users</a>" not in page


def test_search_counts_and_pages_the_matching_requests(client, carol):
    submit(client, "pat.lee", 30)
    # another requester: amy's 30 fill her per-minute submission limit
    submit(client, "someone.else", 2, requester="zed@tech.gov.sg")
    first = text(carol.get("/audit?email=PAT.LEE").get_data(as_text=True))
    assert "Showing 1 to 25 of 30 requests" in first and "Page 1 of 2" in first and "someone.else" not in first
    second = text(carol.get("/audit?email=pat.lee&page=2").get_data(as_text=True))
    assert "Showing 26 to 30 of 30 requests" in second


def test_dates_are_singapore_days_and_a_bad_date_is_named(client, carol):
    [early, late] = submit(client, "day", 2)
    # 31 Dec 2026 23:30 SGT is 15:30 UTC; 1 Jan 2027 00:30 SGT is 31 Dec 16:30 UTC
    for request_id, at in ((early, dt.datetime(2026, 12, 31, 15, 30)), (late, dt.datetime(2026, 12, 31, 16, 30))):
        HistoryEntry.update(at=at.replace(tzinfo=dt.timezone.utc)).where(HistoryEntry.request_id == request_id).execute()
    page = text(carol.get("/audit?from=2027-01-01&to=2027-01-01").get_data(as_text=True))
    assert "day1@tech.gov.sg" in page and "day0@tech.gov.sg" not in page
    bad = carol.get("/audit?from=31/12/2026")
    assert bad.status_code == 422 and "Enter a date like 2027-01-31." in bad.get_data(as_text=True)


def test_a_search_filter_the_apis_schema_refuses_is_named_beside_its_field_and_left_out(client, carol):
    submit(client, "kept", 2)
    answer = carol.get("/audit", query_string={"state": "lost", "email": "x" * 255, "requester": "amy@tech.gov.sg"})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert field_error(page, "filter-state") == "Error: Choose one of the options in the list."
    assert field_error(page, "filter-email") == "Error: This is longer than anything it could match; shorten it."
    assert "kept0@tech.gov.sg" in page and "kept1@tech.gov.sg" in page
    # the API says what it always said of the same filter
    api = as_user(client, "carol@tech.gov.sg")("GET", "/api/v1/audit/events", query_string={"state": "lost"})
    assert api.status_code == 422 and api.get_json()["errors"]["state"][0].startswith("Must be one of: submitted,")


def test_the_timeline_shows_every_entry_and_an_unknown_request_is_not_found(client, carol):
    [request_id] = submit(client, "tim")
    page = text(carol.get(f"/audit/requests/{request_id}").get_data(as_text=True))
    assert "Request submitted" in page and "SGT · by amy@tech.gov.sg" in page and "New joiner" in page
    assert carol.get("/audit/requests/no-such-id").status_code == 404


def test_export_buttons_carry_the_filters(client, carol):
    submit(client, "exp", 2)
    submit(client, "other", 1)
    page = carol.get("/audit?email=exp").get_data(as_text=True)
    assert 'href="/audit/export.csv?email=exp"' in page and 'href="/audit/export.jsonl?email=exp"' in page
    body = carol.get("/audit/export.csv?email=exp").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    assert sorted(r["Invitee email"] for r in rows) == ["exp0@tech.gov.sg", "exp1@tech.gov.sg"]
    assert InviteRequest.select().count() == 3


@pytest.mark.parametrize("path", ["/audit", "/audit/export.csv", "/audit/export.jsonl"])
@pytest.mark.parametrize("name", ["from", "to"])
def test_a_singapore_day_that_began_before_utcs_calendar_is_named_beside_its_field(client, carol, path, name):
    # 1 January of year 1 began at 16:00 UTC on the day before it, which no calendar here holds
    response = carol.get(f"{path}?{name}=0001-01-01")
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), f"filter-{name}") == \
        "Error: Enter a date from 0001-01-02 to 9999-12-31."


@pytest.mark.parametrize("path", ["/audit", "/audit/export.csv", "/audit/export.jsonl"])
def test_the_first_and_last_singapore_days_utc_holds_are_searched(client, carol, path):
    submit(client, "edge")
    # the last day ends at 16:00 UTC on 31 December 9999, though its next day is past the calendar
    for query in ("from=0001-01-02", "to=0001-01-02", "from=9999-12-31", "to=9999-12-31",
                  "from=0001-01-02&to=9999-12-31"):
        response = carol.get(f"{path}?{query}")
        assert response.status_code == 200, query
        found = "edge0@tech.gov.sg" in response.get_data(as_text=True)
        assert found == (query in ("from=0001-01-02", "to=9999-12-31", "from=0001-01-02&to=9999-12-31")), query


@pytest.mark.parametrize("number", ["\u00b2", "\u0661", "9" * 5000, "-1", "1.5", "99999999999999999999"])
def test_a_page_number_that_is_not_a_plain_number_shows_a_page(client, carol, number):
    submit(client, "pager", 2)
    response = carol.get("/audit", query_string={"page": number})
    assert response.status_code == 200
    assert "Showing 1 to 2 of 2 requests" in text(response.get_data(as_text=True))

"""Invite status: the requester's own requests, filters, a request's history, cancel and resend."""
import datetime as dt
import json
import re

import pytest

from invite_common.db import utcnow

from intake import history
from intake.models import InviteRequest
from tests.support.portal_html import banner, headings, text


def invite_for(client, email, **form):
    data = {"email": email, "seed_onboarding": "no", "reason": "New joiner", "confirmed": "yes"} | form
    return client.post("/invite/email", data=data).headers["Location"].rsplit("/", 1)[1]


def rows(page):
    """The emails listed in the status table, in order."""
    return re.findall(r'<td[^>]*><a href="/status/[^"]+">([^<]+)</a></td>', page)


def move(invite_id, to_state, event, seq, **details):
    """Record a transition as the history consumer would on approval's event."""
    invite = InviteRequest.get_by_id(invite_id)
    history.append(invite_id, event, actor="system", at=utcnow(), from_state=invite.state, to_state=to_state,
                   details=details, source_seq=seq)
    InviteRequest.update(state=to_state, state_seq=seq).where(InviteRequest.id == invite_id).execute()


def test_status_lists_own_requests_newest_first_with_filters(amy_session, zed_session):
    first = invite_for(amy_session, "p1@tech.gov.sg")
    invite_for(amy_session, "p2@tech.gov.sg", seed_onboarding="yes")
    invite_for(zed_session, "z1@tech.gov.sg")
    move(first, "approved", "approve", 1)
    assert rows(amy_session.get("/status").text) == ["p2@tech.gov.sg", "p1@tech.gov.sg"]
    assert rows(amy_session.get("/status?state=submitted").text) == ["p2@tech.gov.sg"]
    assert rows(amy_session.get("/status?state=in_progress").text) == ["p1@tech.gov.sg"]
    assert rows(amy_session.get("/status?email=P1").text) == ["p1@tech.gov.sg"]
    assert rows(amy_session.get("/status?email=%25").text) == []
    assert rows(amy_session.get("/status?method=create_account").text) == []
    page = amy_session.get("/status").text
    assert "Waiting for approval" in page and "Approved" in page and "Pending approval" in page


def test_status_is_paginated(amy_session):
    for n in range(27):
        invite_for(amy_session, f"p{n:02}@tech.gov.sg")
    first, second = amy_session.get("/status").text, amy_session.get("/status?page=2").text
    assert len(rows(first)) == 25 and rows(second) == ["p01@tech.gov.sg", "p00@tech.gov.sg"]
    assert "Page 1 of 2" in first and 'rel="next" href="/status?page=2"' in first


def test_detail_shows_the_request_and_its_history_as_a_timeline(amy_session):
    invite_id = invite_for(amy_session, "jane@tech.gov.sg", seed_onboarding="yes")
    move(invite_id, "approved", "approve", 1)
    move(invite_id, "account_created", "provision", 2, username="jane.tan")
    expires = (utcnow() + dt.timedelta(days=14)).replace(hour=4)
    move(invite_id, "seed_requested", "request_seed", 3, seed_expires_at=expires.isoformat())
    page = amy_session.get(f"/status/{invite_id}").text
    assert headings(page) == ["Request for jane@tech.gov.sg"]
    timeline = text(page.split('<ol class="timeline"')[1])
    for words in ("Request submitted", "by amy@tech.gov.sg", "Approved", "TechPass account created",
                  "TechPass username: jane.tan", "SEED enrolment booked", "by Invite Users (automatic)"):
        assert words in timeline
    assert f"Booked, code expires {expires.astimezone(dt.timezone(dt.timedelta(hours=8))).day}" in text(page)
    assert "Cancel request" not in page


def test_a_closed_request_shows_closed_and_the_operators_reason_as_text(amy_session):
    invite_id = invite_for(amy_session, "jane@tech.gov.sg")
    move(invite_id, "approved", "approve", 1)
    move(invite_id, "failed", "fail", 2)
    reason = 'Jane already has an account <script>alert("x")</script> & signs in with it.'
    invite = InviteRequest.get_by_id(invite_id)
    history.append(invite_id, "close", actor="ops@tech.gov.sg", at=utcnow(), from_state="failed", to_state="closed",
                   note=reason, source_seq=3)
    InviteRequest.update(state="closed", state_seq=3).where(InviteRequest.id == invite.id).execute()

    page = amy_session.get(f"/status/{invite_id}").text
    panel = text(page.split('class="status-panel"')[1].split("</dl>")[0])
    assert "Closed" in panel and f"Why it was closed {reason}" in panel
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; signs" in page
    timeline = text(page.split('<ol class="timeline"')[1])
    assert "Closed by an operator" in timeline and "by ops@tech.gov.sg" in timeline and reason in timeline
    listed = amy_session.get("/status?state=closed").text
    assert rows(listed) == ["jane@tech.gov.sg"] and "Closed" in text(listed)
    assert "A step could not be completed and your request was closed for" in text(amy_session.get("/").text)


def test_cancel_asks_for_confirmation_then_cancels(amy_session, outbox):
    invite_id = invite_for(amy_session, "jane@tech.gov.sg")
    confirm = amy_session.get(f"/status/{invite_id}/cancel")
    assert confirm.status_code == 200 and "Yes, cancel this request" in confirm.text
    assert InviteRequest.get_by_id(invite_id).pending_action is None
    done = amy_session.post(f"/status/{invite_id}/cancel")
    assert done.headers["Location"] == f"/status/{invite_id}"
    assert InviteRequest.get_by_id(invite_id).pending_action == "cancel"
    page = amy_session.get(done.headers["Location"]).text
    assert "cancellation was sent" in banner(page) and "Cancel request" not in page
    # not "Waiting for approval" any more: the page says what is happening and follows it by itself
    assert "Being cancelled" in text(page) and "Waiting for approval" not in text(page)
    assert "data-settling" in page and "This page updates by itself" in text(page)
    assert "invite.cancelled" in [json.loads(r.body)["type"] for r in outbox.pending()]
    again = amy_session.post(f"/status/{invite_id}/cancel")
    assert "can no longer be cancelled" in banner(amy_session.get(again.headers["Location"]).text)


def test_resend_is_offered_once_emailed_and_says_when_it_is_too_soon(amy_session):
    invite_id = invite_for(amy_session, "jane@tech.gov.sg")
    assert "Resend invite" not in amy_session.get(f"/status/{invite_id}").text
    move(invite_id, "approved", "approve", 1)
    move(invite_id, "account_created", "provision", 2)
    move(invite_id, "emailed", "mark_emailed", 3)
    assert "Resend invite" in amy_session.get(f"/status/{invite_id}").text
    first = amy_session.post(f"/status/{invite_id}/resend")
    after = amy_session.get(first.headers["Location"]).text
    assert "will be sent to jane@tech.gov.sg again" in banner(after)
    # the button stays, unusable, with when it can next be used beside it
    assert re.search(r'<button type="button" class="button button--secondary" disabled aria-describedby="resend-later">Resend invite', after)
    assert re.search(r"You can resend it after \d+ \w+ \d{4}, \d+:\d\d [ap]m SGT", text(after))
    second = amy_session.post(f"/status/{invite_id}/resend")
    assert "less than a day ago" in banner(amy_session.get(second.headers["Location"]).text)


def test_other_requesters_get_404_for_every_page_and_action(amy_session, zed_session):
    invite_id = invite_for(amy_session, "jane@tech.gov.sg")
    for method, path in (("GET", ""), ("GET", "/cancel"), ("POST", "/cancel"), ("POST", "/resend")):
        response = zed_session.open(f"/status/{invite_id}{path}", method=method)
        assert response.status_code == 404 and "Page not found" in response.text, (method, path)
    assert InviteRequest.get_by_id(invite_id).pending_action is None


def test_overview_counts_requests_by_what_they_wait_for(amy_session):
    pending = invite_for(amy_session, "a@tech.gov.sg")
    failed = invite_for(amy_session, "b@tech.gov.sg")
    move(failed, "approved", "approve", 1)
    move(failed, "failed", "fail", 2)
    page = text(amy_session.get("/").text)
    assert "1 Waiting for approval" in page and "0 In progress" in page and "1 Rejected or needs attention" in page
    assert pending and "a@tech.gov.sg" in page


@pytest.mark.parametrize("number", ["\u00b2", "9" * 5000])
def test_a_page_number_int_cannot_read_shows_a_page(amy_session, number):
    # "²" is a digit to str.isdigit() but not to int(); int() refuses more than 4,300 digits
    invite_for(amy_session, "p1@tech.gov.sg")
    response = amy_session.get("/status", query_string={"page": number})
    assert response.status_code == 200 and rows(response.text) == ["p1@tech.gov.sg"]

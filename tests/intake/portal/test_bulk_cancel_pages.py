"""Cancelling several requests from Invite status, or every pending one of a submitted batch: tick,
confirm, and read what became of each."""
import json
import re

from intake.models import InviteRequest
from tests.intake.portal.test_batch_pages import GOOD, upload
from tests.intake.portal.test_status_pages import invite_for, move
from tests.support.portal_html import banner, headings, summary_links, text


def checkboxes(page: str) -> dict[str, str]:
    """Each cancel checkbox's value (the request's id) and its label's words."""
    found = re.findall(r'<input class="checkbox__input" id="([^"]+)" name="ids" type="checkbox" value="([^"]+)"', page)
    labels = dict(re.findall(r'<label class="checkbox__label" for="([^"]+)">(.*?)</label>', page, re.S))
    return {value: text(labels[box]) for box, value in found}


def cancelled_messages(outbox) -> list[str]:
    return [json.loads(r.body)["payload"]["request_id"] for r in outbox.pending() if r.message_type == "invite.cancelled"]


def result_rows(page: str) -> list[tuple[str, str]]:
    """The results table's (invitee, result) pairs."""
    return [(text(who), text(result)) for who, result in re.findall(
        r'<td data-label="Invitee"[^>]*>(.*?)</td>.*?<td data-label="Result">(.*?)</td>', page, re.S)]


def test_only_requests_that_can_still_be_cancelled_have_a_checkbox_labelled_with_the_invitee(amy_session, bob):
    waiting = invite_for(amy_session, "p1@tech.gov.sg")
    approved = invite_for(amy_session, "p2@tech.gov.sg")
    move(approved, "approved", "approve", 1)
    being_decided = invite_for(amy_session, "p3@tech.gov.sg")
    assert bob("POST", f"/api/v1/invites/{being_decided}/reject", json={"reason": "Not needed"}).status_code == 202
    page = amy_session.get("/status").text
    assert checkboxes(page) == {waiting: "Select the request for p1@tech.gov.sg to cancel"}
    assert "Cancel selected requests" in page
    # the error summary's link lands on the first checkbox
    assert f'id="ids" name="ids" type="checkbox" value="{waiting}"' in page


def test_a_page_with_nothing_to_cancel_offers_no_checkboxes(amy_session):
    invite_id = invite_for(amy_session, "p1@tech.gov.sg")
    move(invite_id, "rejected", "reject", 1)
    page = amy_session.get("/status").text
    assert checkboxes(page) == {} and "Cancel selected requests" not in page


def test_ticking_then_confirming_cancels_each_and_says_so(amy_session, outbox):
    first, second, kept = (invite_for(amy_session, f"p{n}@tech.gov.sg") for n in range(3))
    confirm = amy_session.get("/status/cancellations", query_string={"ids": [first, second], "state": "submitted"})
    assert confirm.status_code == 200
    assert headings(confirm.text) == ["Cancel 2 requests?"]
    # "No, keep them" goes back to the page as it was filtered
    assert '<a class="button button--secondary" href="/status?state=submitted">No, keep them</a>' in confirm.text
    listed = text(confirm.text).partition("The requests to cancel")[2]
    assert "p0@tech.gov.sg Email invitation Waiting for approval" in listed
    assert "p1@tech.gov.sg Email invitation Waiting for approval" in listed and "p2@tech.gov.sg" not in listed
    assert cancelled_messages(outbox) == []  # asking to confirm changes nothing

    done = amy_session.post("/status/cancellations", data={"ids": [first, second]})
    assert done.status_code == 200 and headings(done.text) == ["Cancellations sent"]
    assert banner(done.text).startswith("2 of 2 requests were cancelled.")
    assert result_rows(done.text) == [("p0@tech.gov.sg", "Cancelled now"), ("p1@tech.gov.sg", "Cancelled now")]
    assert sorted(cancelled_messages(outbox)) == sorted([first, second])
    assert InviteRequest.get_by_id(kept).pending_action is None


def test_sending_the_confirmation_again_cancels_nothing_twice(amy_session, outbox):
    first, second = (invite_for(amy_session, f"p{n}@tech.gov.sg") for n in range(2))
    amy_session.post("/status/cancellations", data={"ids": [first, second]})
    again = amy_session.post("/status/cancellations", data={"ids": [first, second]})
    assert banner(again.text).startswith("0 of 2 requests were cancelled.")
    assert [r for _, r in result_rows(again.text)] == ["Not cancelled again: already cancelled"] * 2
    assert len(cancelled_messages(outbox)) == 2


def test_the_results_say_which_were_decided_meanwhile_and_how(amy_session, zed_session, outbox):
    waiting, approved, rejected, expired = (invite_for(amy_session, f"p{n}@tech.gov.sg") for n in range(4))
    move(approved, "approved", "approve", 1)
    move(rejected, "rejected", "reject", 1)
    move(expired, "expired", "expire", 1)
    someone_elses = invite_for(zed_session, "z1@tech.gov.sg")
    done = amy_session.post("/status/cancellations", data={"ids": [waiting, approved, rejected, expired, someone_elses]})
    assert result_rows(done.text) == [
        ("p0@tech.gov.sg", "Cancelled now"),
        ("p1@tech.gov.sg", "Not cancelled: already approved"),
        ("p2@tech.gov.sg", "Not cancelled: already rejected"),
        ("p3@tech.gov.sg", "Not cancelled: it expired"),
        (someone_elses, "Not cancelled: not found, or not your request"),  # nothing of it is shown
    ]
    assert "z1@tech.gov.sg" not in done.text
    assert cancelled_messages(outbox) == [waiting]


def test_confirming_nothing_ticked_shows_the_status_page_with_the_problem(amy_session):
    invite_for(amy_session, "p1@tech.gov.sg")
    page = amy_session.get("/status/cancellations", query_string={"state": "submitted"})
    assert page.status_code == 422 and headings(page.text) == ["Invite status"]
    assert summary_links(page.text) == [("#ids", "Select the requests you want to cancel.")]
    assert 'id="ids-error"' in page.text and 'aria-describedby="ids-error"' in page.text
    # the filters in force stay
    assert '<option value="submitted" selected>' in page.text


def test_a_forged_list_is_refused_by_the_apis_rules(amy_session, outbox):
    invite_id = invite_for(amy_session, "p1@tech.gov.sg")
    too_many = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(201)]
    page = amy_session.post("/status/cancellations", data={"ids": too_many})
    assert page.status_code == 422 and summary_links(page.text) == [("#ids", "Give between 1 and 200 request ids.")]
    hidden = amy_session.post("/status/cancellations", data={"ids": [invite_id, "a\u0000b"]})
    assert hidden.status_code == 422
    assert cancelled_messages(outbox) == []


def submitted_batch(client, count: int) -> tuple[str, list[str]]:
    lines = [GOOD.replace("vic@", f"v{n}@").replace("vic.lim", f"vic{n}.lim") for n in range(count)]
    review = upload(client, *lines).headers["Location"]
    client.post(review + "/submit")
    batch_id = review.rsplit("/", 1)[1]
    ids = [i.id for i in InviteRequest.select().where(InviteRequest.batch_id == batch_id)]
    return batch_id, ids


def test_a_submitted_batch_offers_to_cancel_its_pending_requests_where_its_requests_are_shown(amy_session):
    batch_id, ids = submitted_batch(amy_session, 3)
    move(ids[0], "approved", "approve", 1)
    link = f"/status/cancellations?batch={batch_id}&amp;all_pending=yes"
    for page in (amy_session.get(f"/status?batch={batch_id}").text, amy_session.get(f"/invite/batch/{batch_id}").text):
        assert f'href="{link}">Cancel every pending request in this batch (2)</a>' in page


def test_a_batch_with_nothing_pending_offers_no_cancel(amy_session):
    batch_id, ids = submitted_batch(amy_session, 1)
    move(ids[0], "rejected", "reject", 1)
    for page in (amy_session.get(f"/status?batch={batch_id}").text, amy_session.get(f"/invite/batch/{batch_id}").text):
        assert "Cancel every pending request" not in page
    confirm = amy_session.get("/status/cancellations", query_string={"batch": batch_id, "all_pending": "yes"})
    assert headings(confirm.text) == ["Nothing to cancel in this batch"] and "Yes, cancel" not in confirm.text


def test_cancelling_a_batch_confirms_its_pending_requests_then_says_what_became_of_every_one(amy_session, outbox):
    batch_id, ids = submitted_batch(amy_session, 4)
    move(ids[0], "approved", "approve", 1)
    confirm = amy_session.get("/status/cancellations", query_string={"batch": batch_id, "all_pending": "yes"})
    assert headings(confirm.text) == ["Cancel all 3 pending requests?"]
    assert "The batch's other request has already been decided" in text(confirm.text)
    assert "people.csv" in confirm.text
    done = amy_session.post("/status/cancellations", data={"batch": batch_id, "all_pending": "yes"})
    assert banner(done.text).startswith("3 of 4 requests were cancelled.")
    assert [r for _, r in result_rows(done.text)] == [
        "Not cancelled: already approved", "Cancelled now", "Cancelled now", "Cancelled now"]
    assert sorted(cancelled_messages(outbox)) == sorted(ids[1:])
    again = amy_session.post("/status/cancellations", data={"batch": batch_id, "all_pending": "yes"})
    assert banner(again.text).startswith("0 of 4 requests were cancelled.")
    assert len(cancelled_messages(outbox)) == 3


def test_another_requesters_batch_cannot_be_cancelled(amy_session, zed_session, outbox):
    batch_id, _ = submitted_batch(amy_session, 2)
    assert zed_session.get("/status/cancellations", query_string={"batch": batch_id, "all_pending": "yes"}).status_code == 404
    assert zed_session.post("/status/cancellations", data={"batch": batch_id, "all_pending": "yes"}).status_code == 404
    assert cancelled_messages(outbox) == []


def test_confirming_needs_the_forms_csrf_token(portal_app, outbox):
    from tests.intake.portal.test_csrf import token

    portal_app.config["WTF_CSRF_ENABLED"] = True
    client = portal_app.test_client()
    client.post("/sign-in", data={"email": "amy@tech.gov.sg", "csrf_token": token(client.get("/sign-in").text)})
    invite_id = client.post("/invite/email", data={
        "email": "p1@tech.gov.sg", "seed_onboarding": "no", "reason": "New joiner", "confirmed": "yes",
        "csrf_token": token(client.get("/invite/email").text)}).headers["Location"].rsplit("/", 1)[1]
    confirm = client.get("/status/cancellations", query_string={"ids": [invite_id]}).text
    assert client.post("/status/cancellations", data={"ids": [invite_id]}).status_code == 400
    assert cancelled_messages(outbox) == []
    done = client.post("/status/cancellations", data={"ids": [invite_id], "csrf_token": token(confirm)})
    assert done.status_code == 200 and cancelled_messages(outbox) == [invite_id]

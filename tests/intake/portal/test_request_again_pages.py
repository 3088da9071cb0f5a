"""A request that ended without its invitation says how it ended in its status panel, and its requester
may ask for it again from a form filled in with its answers; the two requests link to each other."""
import re

from invite_common.db import utcnow

from intake import history
from intake.models import InviteRequest
from tests.support.portal_html import checked_value, field_error, input_value, text, textarea_value

VENDOR_FORM = {
    "email": "vic@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim", "first_name": "Vic",
    "last_name": "Lim", "contact_number": "9123 4567", "organisation": "Example Pte Ltd", "department": "Platform",
    "seed_onboarding": "yes", "reason": "Contractor on the booking service",
}
# the check page's button sends a form: posted with this, it is recorded
CHECKED = {"confirmed": "yes"}


def sent(client, path, form):
    response = client.post(path, data=form | CHECKED)
    assert response.status_code == 302, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def end(invite_id, state, verb, note=""):
    invite = InviteRequest.get_by_id(invite_id)
    history.append(invite_id, verb, actor="bob@tech.gov.sg", at=utcnow(), from_state=invite.state, to_state=state,
                   note=note, source_seq=invite.state_seq + 1)
    InviteRequest.update(state=state, state_seq=invite.state_seq + 1, open_email=None, open_username_key=None).where(
        InviteRequest.id == invite_id).execute()


def panel(page):
    return text(page.split('class="status-panel"')[1].split("</dl>")[0])


def test_a_rejected_requests_reason_stands_in_its_status_panel(amy_session):
    invite_id = sent(amy_session, "/invite/account", VENDOR_FORM)
    end(invite_id, "rejected", "reject", note="Vendors need a sponsor <b>letter</b>")
    page = amy_session.get(f"/status/{invite_id}").text
    assert "Why it was rejected Vendors need a sponsor <b>letter</b>" in panel(page)
    assert "&lt;b&gt;letter&lt;/b&gt;" in page


def test_a_failed_request_says_what_went_wrong_and_an_expired_one_when(amy_session):
    failed = sent(amy_session, "/invite/email", {"email": "a@tech.gov.sg", "seed_onboarding": "no", "reason": "x"})
    end(failed, "approved", "approve")
    end(failed, "failed", "fail", note="provision failed: directory unavailable")
    assert "What went wrong provision failed: directory unavailable" in panel(amy_session.get(f"/status/{failed}").text)
    expired = sent(amy_session, "/invite/email", {"email": "b@tech.gov.sg", "seed_onboarding": "no", "reason": "x"})
    end(expired, "expired", "expire", note="no decision within 14 days")
    assert re.search(r"Expired on \d{1,2} \w{3} \d{4}, \d{1,2}:\d\d [ap]m SGT", panel(amy_session.get(f"/status/{expired}").text))


def test_request_again_opens_the_matching_form_filled_with_the_answers_and_links_both_requests(amy_session):
    earlier = sent(amy_session, "/invite/account", VENDOR_FORM)
    page = amy_session.get(f"/status/{earlier}").text
    assert "Request again" not in page  # still waiting
    end(earlier, "rejected", "reject", note="Wrong organisation")
    page = amy_session.get(f"/status/{earlier}").text
    assert f'href="/invite/account?repeats={earlier}"' in page and ">Request again</a>" in page

    # the other form's address leads to the request's own form
    assert amy_session.get(f"/invite/email?repeats={earlier}").headers["Location"] == f"/invite/account?repeats={earlier}"
    form = amy_session.get(f"/invite/account?repeats={earlier}").text
    for name in ("email", "username", "first_name", "last_name", "organisation", "department"):
        assert input_value(form, name) == VENDOR_FORM[name], name
    assert input_value(form, "contact_number") == "+65 9123 4567"
    assert checked_value(form, "user_type") == "vendor" and checked_value(form, "seed_onboarding") == "yes"
    assert textarea_value(form, "reason") == VENDOR_FORM["reason"]
    assert input_value(form, "repeats") == earlier
    assert "Why it was rejected: Wrong organisation" in text(form)

    later = sent(amy_session, "/invite/account", VENDOR_FORM | {"organisation": "Right Pte Ltd", "repeats": earlier})
    later_page = text(amy_session.get(f"/status/{later}").text)
    assert "Repeats the request for vic@vendor.example.com of" in later_page
    earlier_page = amy_session.get(f"/status/{earlier}").text
    assert f'href="/status/{later}">the request for vic@vendor.example.com of' in earlier_page
    assert "Requested again" in text(earlier_page) and "Why it was rejected Wrong organisation" in panel(earlier_page)


def test_only_the_requester_may_ask_again_and_only_for_an_ended_request(amy_session, zed_session):
    earlier = sent(amy_session, "/invite/email", {"email": "c@tech.gov.sg", "seed_onboarding": "no", "reason": "x"})
    waiting = amy_session.get(f"/invite/email?repeats={earlier}")
    assert waiting.headers["Location"] == f"/status/{earlier}"
    assert "ended without its invitation" in text(amy_session.get(waiting.headers["Location"]).text)
    end(earlier, "cancelled", "cancel")
    assert zed_session.get(f"/invite/email?repeats={earlier}").status_code == 404
    assert amy_session.get("/invite/email?repeats=not-an-id").status_code == 404
    # a form sent naming someone else's request is refused, and what was typed stays
    refused = zed_session.post("/invite/email", data={"email": "d@tech.gov.sg", "seed_onboarding": "no",
                                                      "reason": "typed", "repeats": earlier})
    assert refused.status_code == 422 and "None of your requests has this id." in text(refused.text)
    assert textarea_value(refused.text, "reason") == "typed"


def test_an_email_invitation_for_a_vendor_points_to_create_account_with_what_was_typed(amy_session):
    typed = {"email": "john@vendor.com", "seed_onboarding": "yes", "reason": "Builds the portal"}
    page = amy_session.post("/invite/email", data=typed).text
    error = field_error(page, "email")
    assert "Email invitation is for public officers, whose address ends in gov.sg." in error
    assert "To invite a vendor, use Create account." in error
    link = re.search(r'<a href="([^"]+)">Create an account for a vendor instead</a>', page).group(1).replace("&amp;", "&")
    assert link.startswith("/invite/account?")
    form = amy_session.get(link).text
    assert input_value(form, "email") == "john@vendor.com" and checked_value(form, "user_type") == "vendor"
    assert checked_value(form, "seed_onboarding") == "yes" and textarea_value(form, "reason") == "Builds the portal"


def test_a_failed_request_asked_for_again_at_the_same_address_says_it_still_holds_it(amy_session):
    failed = sent(amy_session, "/invite/email", {"email": "e@tech.gov.sg", "seed_onboarding": "no", "reason": "x"})
    invite = InviteRequest.get_by_id(failed)
    history.append(failed, "fail", actor="system", at=utcnow(), from_state="submitted", to_state="failed",
                   note="provision failed: timeout", source_seq=1)
    InviteRequest.update(state="failed", state_seq=1).where(InviteRequest.id == invite.id).execute()
    form = amy_session.get(f"/invite/email?repeats={failed}").text
    assert input_value(form, "email") == "e@tech.gov.sg"
    again = amy_session.post("/invite/email", data={"email": "e@tech.gov.sg", "seed_onboarding": "no", "reason": "x",
                                                    "repeats": failed})
    assert again.status_code == 422
    assert "still holds this email address: it waits for an operator" in field_error(again.text, "email")
    moved = amy_session.post("/invite/email", data={"email": "e.lim@tech.gov.sg", "seed_onboarding": "no", "reason": "x",
                                                    "repeats": failed} | CHECKED)
    assert moved.status_code == 302

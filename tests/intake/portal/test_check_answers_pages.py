"""Check your answers: a valid invite form is shown back before anything is recorded; each answer's
Change link reopens the form at that field with every answer kept; only the check page's Submit request
records it, reading its answers again with the same schema, once however often it is sent."""
import html
import json
import re
from urllib.parse import parse_qs, urlsplit

from invite_common.db import utcnow

from intake import history
from intake.models import InviteRequest
from tests.support.portal_html import banner, checked_value, field_error, headings, input_value, text, textarea_value, title

EMAIL_FORM = {"email": "jane@tech.gov.sg", "seed_onboarding": "no", "reason": "Joining the platform team\nfrom May"}
VENDOR_FORM = {
    "email": "vic@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim", "first_name": "Vic",
    "last_name": "Lim", "contact_number": "9123 4567", "organisation": "Example Pte Ltd", "department": "",
    "offshore": "yes", "seed_onboarding": "yes", "reason": "Contractor",
}
CHECK_TITLE = "Check your answers before sending the request"


def submitted_messages(outbox):
    return [json.loads(r.body) for r in outbox.pending() if json.loads(r.body)["type"] == "invite.submitted"]


def send_form(form):
    """What the check page's Submit request button posts: its hidden fields, as the browser sends them."""
    block = re.search(r'<form[^>]*aria-label="Send the request".*?</form>', form, re.S).group(0)
    return {name: html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', block)}


def answers(page):
    """The check page's rows: (key, value, Change link's href, Change link's words)."""
    return [(text(key), text(value), html.unescape(href), text(change)) for key, value, href, change in re.findall(
        r'<dt class="summary-list__key">(.*?)</dt>\s*<dd class="summary-list__value[^"]*">(.*?)</dd>\s*'
        r'<dd class="summary-list__actions"><a href="([^"]+)">(.*?)</a></dd>', page, re.S)]


def change_link(page, field):
    return next(href for _, _, href, _ in answers(page) if parse_qs(urlsplit(href).query)["change"] == [field])


def test_a_valid_form_is_shown_back_and_nothing_is_recorded_until_it_is_submitted(amy_session, outbox):
    checked = amy_session.post("/invite/email", data=EMAIL_FORM)
    assert checked.status_code == 200 and title(checked.text).startswith(CHECK_TITLE)
    assert InviteRequest.select().count() == 0 and submitted_messages(outbox) == []
    rows = answers(checked.text)
    assert [(key, value) for key, value, _, _ in rows] == [
        ("Email address", "jane@tech.gov.sg"), ("SEED onboarding required", "No"),
        ("Reason for the request", "Joining the platform team from May")]
    # every Change link names its answer for a screen reader
    assert [change for _, _, _, change in rows] == [
        "Change email address", "Change whether SEED onboarding is required", "Change reason for the request"]

    sent = amy_session.post("/invite/email", data=send_form(checked.text))
    invite = InviteRequest.get()
    assert sent.status_code == 302 and sent.headers["Location"] == f"/status/{invite.id}"
    assert (invite.email, invite.seed_onboarding) == ("jane@tech.gov.sg", False)
    assert invite.reason.replace("\r\n", "\n") == EMAIL_FORM["reason"]
    assert "Request sent for jane@tech.gov.sg" in banner(amy_session.get(sent.headers["Location"]).text)
    assert len(submitted_messages(outbox)) == 1


def test_the_check_page_shows_what_will_be_sent_and_a_vendors_questions_only_for_a_vendor(amy_session):
    vendor = answers(amy_session.post("/invite/account", data=VENDOR_FORM).text)
    shown = {key: value for key, value, _, _ in vendor}
    assert shown["Public officer or vendor"] == "Vendor" and shown["TechPass username"] == "v-vic.lim"
    assert shown["Offshore"] == "Yes" and shown["Contact number"] == "+65 9123 4567"
    assert shown["Department"] == "Not given" and shown["SEED onboarding required"] == "Yes"
    officer = VENDOR_FORM | {"email": "tan@tech.gov.sg", "user_type": "public_officer", "username": "", "offshore": ""}
    keys = [key for key, _, _, _ in answers(amy_session.post("/invite/account", data=officer).text)]
    assert "TechPass username" not in keys and "Offshore" not in keys and keys[0] == "Email address"
    assert InviteRequest.select().count() == 0


def test_change_reopens_the_form_at_that_answer_with_every_answer_and_the_forms_key_kept(amy_session):
    checked = amy_session.post("/invite/account", data=VENDOR_FORM).text
    key = send_form(checked)["submission_key"]
    href = change_link(checked, "contact_number")
    assert urlsplit(href).path == "/invite/account" and urlsplit(href).fragment == "contact_number"
    form = amy_session.get(href).text
    assert headings(form)[0] == "Create account" and not title(form).startswith("Error")
    for name in ("email", "username", "first_name", "last_name", "contact_number", "organisation"):
        assert input_value(form, name) == VENDOR_FORM[name], name
    assert checked_value(form, "user_type") == "vendor" and checked_value(form, "offshore") == "yes"
    assert checked_value(form, "seed_onboarding") == "yes" and textarea_value(form, "reason") == "Contractor"
    assert input_value(form, "submission_key") == key

    changed = amy_session.post("/invite/account", data=VENDOR_FORM | {"contact_number": "8123 4567",
                                                                      "submission_key": key}).text
    assert ("Contact number", "+65 8123 4567") in [(k, v) for k, v, _, _ in answers(changed)]
    assert amy_session.post("/invite/account", data=send_form(changed)).status_code == 302
    assert InviteRequest.get().contact_number == "+6581234567"


def test_the_check_pages_answers_are_read_again_with_the_same_schema(amy_session, outbox):
    checked = amy_session.post("/invite/email", data=EMAIL_FORM).text
    # the hidden fields are the browser's to send: altered, they are refused as the form would be
    altered = amy_session.post("/invite/email", data=send_form(checked) | {"email": "jane@vendor.example.com"})
    assert altered.status_code == 422 and headings(altered.text)[0] == "Email invitation"
    assert "Email invitation is for public officers" in field_error(altered.text, "email")
    assert input_value(altered.text, "email") == "jane@vendor.example.com"
    unanswered = amy_session.post("/invite/email", data={k: v for k, v in send_form(checked).items()
                                                          if k != "seed_onboarding"})
    assert unanswered.status_code == 422 and "yes or no" in field_error(unanswered.text, "seed_onboarding")
    assert InviteRequest.select().count() == 0 and submitted_messages(outbox) == []


def test_submitting_the_check_page_twice_records_one_request(amy_session, outbox):
    checked = amy_session.post("/invite/email", data=EMAIL_FORM).text
    first = amy_session.post("/invite/email", data=send_form(checked))
    second = amy_session.post("/invite/email", data=send_form(checked))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert InviteRequest.select().count() == 1 and len(submitted_messages(outbox)) == 1


def test_a_clash_found_on_submit_sends_the_requester_back_to_the_form_with_it(amy_session, outbox):
    checked = amy_session.post("/invite/email", data=EMAIL_FORM).text
    # meanwhile the same address was asked for on another form
    other = amy_session.post("/invite/email", data=send_form(amy_session.post("/invite/email", data=EMAIL_FORM).text))
    assert other.status_code == 302
    late = amy_session.post("/invite/email", data=send_form(checked))
    assert late.status_code == 422 and headings(late.text)[0] == "Email invitation"
    assert "An open request for this email already exists." in field_error(late.text, "email")
    assert f'<a href="{other.headers["Location"]}">View the open request</a>' in late.text
    assert textarea_value(late.text, "reason") == EMAIL_FORM["reason"]
    assert InviteRequest.select().count() == 1


def test_a_clash_known_when_the_form_is_sent_is_shown_on_the_form_not_the_check_page(amy_session):
    amy_session.post("/invite/email", data=send_form(amy_session.post("/invite/email", data=EMAIL_FORM).text))
    again = amy_session.post("/invite/email", data=EMAIL_FORM)
    assert again.status_code == 422 and not title(again.text).startswith(CHECK_TITLE)
    assert "An open request for this email already exists." in field_error(again.text, "email")


def test_a_request_asked_for_again_keeps_what_it_repeats_through_the_check_page(amy_session):
    earlier = amy_session.post("/invite/account", data=send_form(
        amy_session.post("/invite/account", data=VENDOR_FORM).text)).headers["Location"].rsplit("/", 1)[1]
    invite = InviteRequest.get_by_id(earlier)
    history.append(earlier, "reject", actor="bob@tech.gov.sg", at=utcnow(), from_state=invite.state,
                   to_state="rejected", note="Wrong organisation", source_seq=invite.state_seq + 1)
    InviteRequest.update(state="rejected", state_seq=invite.state_seq + 1, open_email=None,
                         open_username_key=None).where(InviteRequest.id == earlier).execute()

    form = amy_session.get(f"/invite/account?repeats={earlier}").text
    typed = VENDOR_FORM | {"organisation": "Right Pte Ltd", "repeats": input_value(form, "repeats"),
                           "submission_key": input_value(form, "submission_key")}
    checked = amy_session.post("/invite/account", data=typed).text
    assert send_form(checked)["repeats"] == earlier and "asks again for your request" in text(checked)
    # changing an answer keeps it too
    reopened = amy_session.get(change_link(checked, "organisation")).text
    assert input_value(reopened, "repeats") == earlier and "Filled in with the answers of your" in text(reopened)
    later = amy_session.post("/invite/account", data=send_form(checked)).headers["Location"].rsplit("/", 1)[1]
    assert "Repeats the request for vic@vendor.example.com of" in text(amy_session.get(f"/status/{later}").text)


def test_a_vendor_at_an_officer_address_is_confirmed_before_the_check_page_and_stays_confirmed(amy_session):
    form = VENDOR_FORM | {"email": "vic.lim@tech.gov.sg"}
    warned = amy_session.post("/invite/account", data=form)
    assert not title(warned.text).startswith(CHECK_TITLE) and 'name="confirm_officer_address"' in warned.text
    checked = amy_session.post("/invite/account", data=form | {"confirm_officer_address": "yes"}).text
    assert title(checked).startswith(CHECK_TITLE) and send_form(checked)["confirm_officer_address"] == "yes"
    reopened = amy_session.get(change_link(checked, "email")).text
    assert checked_value(reopened, "confirm_officer_address") == "yes"
    assert amy_session.post("/invite/account", data=send_form(checked)).status_code == 302
    assert InviteRequest.get().email == "vic.lim@tech.gov.sg"


def test_the_check_page_escapes_what_was_typed(amy_session):
    attack = '"><script>alert(1)</script>'
    page = amy_session.post("/invite/email", data=EMAIL_FORM | {"reason": attack}).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert send_form(page)["reason"] == attack


def test_the_check_page_is_assembled_from_named_sections_with_a_block_for_who_decides(portal_app):
    from intake.portal import check_answers

    data = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": True, "reason": "New"}
    with portal_app.test_request_context():
        sections = check_answers.check_page_sections("portal.invite.email_invitation", ("email", "seed_onboarding",
                                                     "reason"), data, {"email": "jane@tech.gov.sg"})
    assert [s.name for s in sections] == ["answers"]
    assert [(r.key, r.value) for r in sections[0].rows] == [
        ("Email address", "jane@tech.gov.sg"), ("SEED onboarding required", "Yes"), ("Reason for the request", "New")]
    assert sections[0].rows[0].change_href == "/invite/email?change=email&email=jane@tech.gov.sg#email"
    source = portal_app.jinja_loader.get_source(portal_app.jinja_env, "portal/invite/check.html")[0]
    assert "{% block answers %}" in source and "{% block deciders %}" in source


def test_no_answer_travels_in_an_address_back_to_the_form(amy_session):
    """Change links and the vendor's way to Create account name only the form's key: the answers wait in
    the session, so they reach neither the browser's history nor a proxy's access log."""
    import re as _re

    typed = {"email": "li.na@tech.gov.sg", "seed_onboarding": "no", "reason": "Joining the data team"}
    page = amy_session.post("/invite/email", data=typed)
    assert page.status_code == 200
    links = _re.findall(r'href="(/invite/email\?[^"]+)"', page.text)
    assert links and all("li.na" not in link and "Joining" not in link for link in links), links
    change = amy_session.get(links[0].replace("&amp;", "&"))
    assert 'value="li.na@tech.gov.sg"' in change.text and "Joining the data team" in change.text

    vendor = amy_session.post("/invite/email", data=typed | {"email": "john@vendor.example.com"})
    found = _re.search(r'href="(/invite/account\?[^"]+)"', vendor.text)
    assert found and "john" not in found.group(1), found
    account = amy_session.get(found.group(1).replace("&amp;", "&"))
    assert 'value="john@vendor.example.com"' in account.text and "Joining the data team" in account.text

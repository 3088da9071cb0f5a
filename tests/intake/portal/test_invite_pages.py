"""The invite forms: the API's rules, errors beside fields, nothing typed is lost, POST/redirect/GET."""
import json

from intake.models import InviteRequest
from tests.support.portal_html import banner, checked_value, field_error, input_value, summary_links, text, textarea_value, title

EMAIL_FORM = {"email": "jane@tech.gov.sg", "seed_onboarding": "no", "reason": "Joining the platform team",
              "confirmed": "yes"}
VENDOR_FORM = {
    "email": "vic@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim", "first_name": "Vic",
    "last_name": "Lim", "contact_number": "9123 4567", "organisation": "Example Pte Ltd", "department": "",
    "offshore": "yes", "seed_onboarding": "", "reason": "Contractor", "confirmed": "yes",
}


def submitted_messages(outbox):
    return [json.loads(r.body) for r in outbox.pending() if json.loads(r.body)["type"] == "invite.submitted"]


def test_email_invitation_ends_on_its_status_page(amy_session, outbox):
    response = amy_session.post("/invite/email", data=EMAIL_FORM)
    invite = InviteRequest.get()
    assert response.status_code == 302 and response.headers["Location"] == f"/status/{invite.id}"
    assert (invite.method, invite.email, invite.seed_onboarding, invite.requester) == (
        "email_invitation", "jane@tech.gov.sg", False, "amy@tech.gov.sg")
    page = amy_session.get(response.headers["Location"]).text
    assert "Request sent for jane@tech.gov.sg" in banner(page)
    assert len(submitted_messages(outbox)) == 1


def test_create_account_for_an_offshore_vendor_books_seed(amy_session):
    response = amy_session.post("/invite/account", data=VENDOR_FORM)
    invite = InviteRequest.get()
    assert response.headers["Location"] == f"/status/{invite.id}"
    assert (invite.user_type, invite.username, invite.contact_number) == ("vendor", "v-vic.lim", "+6591234567")
    assert invite.offshore is True and invite.seed_onboarding is True


def test_errors_are_shown_beside_fields_and_every_typed_value_is_kept(amy_session, outbox):
    typed = {"email": "jane@example.com", "seed_onboarding": "", "reason": "Line one\nline <two>"}
    response = amy_session.post("/invite/email", data=typed)
    page = response.text
    assert response.status_code == 422 and title(page).startswith("Error: ")
    assert "Email invitation is for public officers, whose address ends in gov.sg." in field_error(page, "email")
    # an unanswered yes/no question is "required", never taken as "no"
    assert "yes or no" in field_error(page, "seed_onboarding")
    assert [target for target, _ in summary_links(page)] == ["#email", "#seed_onboarding"]
    assert input_value(page, "email") == "jane@example.com"
    assert textarea_value(page, "reason") == "Line one\nline <two>"
    assert 'aria-invalid="true"' in page and 'aria-describedby="email-hint email-error"' in page
    assert submitted_messages(outbox) == []


def test_create_account_keeps_choices_and_refuses_a_username_for_an_officer(amy_session):
    form = VENDOR_FORM | {"email": "tan@tech.gov.sg", "user_type": "public_officer", "offshore": "", "seed_onboarding": "yes"}
    page = amy_session.post("/invite/account", data=form).text
    assert "derived from the email" in field_error(page, "username")
    assert checked_value(page, "user_type") == "public_officer" and checked_value(page, "seed_onboarding") == "yes"
    assert input_value(page, "contact_number") == "9123 4567"


def test_a_vendor_username_a_public_officer_could_be_given_is_refused_beside_the_field(amy_session, outbox):
    response = amy_session.post("/invite/account", data=VENDOR_FORM | {"username": "vic.lim"})
    assert response.status_code == 422
    assert "starts with v-" in field_error(response.text, "username")
    assert "for example v-vic.lim" in field_error(response.text, "username")
    assert input_value(response.text, "username") == "vic.lim"
    assert submitted_messages(outbox) == []
    missing = amy_session.post("/invite/account", data={"email": "x@vendor.example.com"}).text
    assert "public officer or a vendor" in field_error(missing, "user_type")
    assert InviteRequest.select().count() == 0


def test_an_open_request_for_the_email_links_to_it(amy_session):
    first = amy_session.post("/invite/email", data=EMAIL_FORM).headers["Location"]
    again = amy_session.post("/invite/email", data=EMAIL_FORM | {"email": "JANE@tech.gov.sg"})
    assert again.status_code == 422
    assert "An open request for this email already exists." in field_error(again.text, "email")
    assert f'<a href="{first}">View the open request</a>' in again.text


def test_someone_elses_open_request_is_reported_but_not_linked(amy_session, zed_session):
    amy_session.post("/invite/email", data=EMAIL_FORM)
    page = zed_session.post("/invite/email", data=EMAIL_FORM).text
    assert "already exists" in field_error(page, "email") and "View the open request" not in page


def test_sending_the_same_form_twice_records_one_request(amy_session):
    key = input_value(amy_session.get("/invite/email").text, "submission_key")
    first = amy_session.post("/invite/email", data=EMAIL_FORM | {"submission_key": key})
    second = amy_session.post("/invite/email", data=EMAIL_FORM | {"submission_key": key})
    assert first.headers["Location"] == second.headers["Location"]
    assert InviteRequest.select().count() == 1


def test_user_input_is_escaped_on_every_page(amy_session):
    attack = "<script>alert(1)</script>"
    location = amy_session.post("/invite/email", data=EMAIL_FORM | {"reason": attack}).headers["Location"]
    for page in (amy_session.get(location).text, amy_session.post("/invite/email", data={"reason": attack}).text):
        assert attack not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_vendor_at_a_public_officer_address_is_sent_only_once_the_requester_confirms(amy_session, outbox):
    form = VENDOR_FORM | {"email": "vic.lim@tech.gov.sg"}
    warned = amy_session.post("/invite/account", data=form)
    assert warned.status_code == 200 and InviteRequest.select().count() == 0 and not submitted_messages(outbox)
    assert "This vendor has a public officer email address" in warned.text
    assert 'name="confirm_officer_address"' in warned.text and not title(warned.text).startswith("Error")
    assert input_value(warned.text, "email") == "vic.lim@tech.gov.sg"  # nothing typed is lost
    sent = amy_session.post("/invite/account", data=form | {"confirm_officer_address": "yes"})
    assert sent.status_code == 302 and InviteRequest.get().email == "vic.lim@tech.gov.sg"


def test_an_officer_or_a_vendor_at_a_company_address_is_not_warned(amy_session):
    assert amy_session.post("/invite/account", data=VENDOR_FORM).status_code == 302
    officer = {k: v for k, v in VENDOR_FORM.items() if k not in ("username", "offshore")}
    assert amy_session.post("/invite/account", data=officer | {"email": "tan@tech.gov.sg", "user_type": "public_officer",
                                                        "seed_onboarding": "no"}).status_code == 302


def test_the_invite_page_and_the_overview_offer_every_method_with_when_to_use_it(amy_session):
    for path in ("/invite", "/"):
        page = amy_session.get(path).text
        for label, href in (("Email invitation", "/invite/email"), ("Create account", "/invite/account"),
                            ("Batch upload", "/invite/batch")):
            assert f'href="{href}">{label}</a>' in page, (path, label)
        assert text(page).count("When to use:") == 3, path

"""The notifier's templates: what each email says, and that no context value can break out of it."""
from __future__ import annotations

import dataclasses
import re

import pytest

from invite_common.errors import PermanentError
from invite_common.messages import Template
from notifier.catalog import CATALOG, InvalidContext, UnknownTemplate, validate_context
from notifier.plaintext import WIDTH, together, wrap
from notifier.rendering import RenderedEmail, UnsafeSubject, render


def invitation(**changes) -> dict:
    context = {
        "request_id": "5f0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31",
        "recipient_name": "Tan Mei Ling",
        "username": "meiling.tan",
        "requester_email": "raj.kumar@tech.gov.sg",
        "activation_url": "https://techpass.example.gov.sg/activate?token=abc123&step=1",
    }
    return {**context, **changes}


def invitation_seed(**changes) -> dict:
    return {**invitation(), "seed_code": "K7QX-29FD", "seed_expires_at": "2026-12-10T15:59:00Z", **changes}


def rejection_notice(**changes) -> dict:
    context = {
        "request_id": "5f0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31",
        "invitee_email": "vendor.lee@example.com",
        "reason": "The project this access was for has ended.",
        "decided_by": "approver.ong@tech.gov.sg",
    }
    return {**context, **changes}


def expiry_notice(**changes) -> dict:
    return {"request_id": "5f0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31", "invitee_email": "vendor.lee@example.com",
            "expiry_days": 14, **changes}


def _flat(text: str) -> str:
    # plain text is wrapped at spaces: compare words, not line breaks
    return " ".join(text.split())


def closure_notice(**changes) -> dict:
    return {"request_id": "5f0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31", "invitee_email": "vendor.lee@example.com",
            "reason": "Vendor Lee already holds a TechPass account; ask them to sign in with it.", **changes}


QUEUE = "https://invites.example.gov.sg/approvals"


def digest_item(email="jane.tan@tech.gov.sg", request_id="r1", **changes) -> dict:
    return {"invitee_email": email, "requester": "amy@tech.gov.sg", "method": "Email invitation",
            "expires_at": "2026-12-10T15:59:00Z", "url": f"{QUEUE}/{request_id}", **changes}


def approver_digest(**changes) -> dict:
    batch = {"requester": "amy@tech.gov.sg", "count": 27, "batch_url": f"{QUEUE}?batch=b1", "closer_look": 3, "items": []}
    singles = {"requester": "zed@tech.gov.sg", "count": 2, "batch_url": None, "closer_look": 0,
               "items": [digest_item(), digest_item("li@tech.gov.sg", "r2", requester="zed@tech.gov.sg")]}
    expiring = {"requester": "amy@tech.gov.sg", "count": 1, "batch_url": None, "closer_look": 0,
                "items": [digest_item("ken@tech.gov.sg", "r3")]}
    return {"request_id": "digest-1", "new_groups": [batch, singles], "new_count": 259, "new_more": 230,
            "expiring_groups": [expiring], "expiring_count": 1, "expiring_more": 0, "waiting_count": 300,
            "queue_url": QUEUE, **changes}


def invitation_sent_notice(**changes) -> dict:
    return {"request_id": "5f0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31", "invitee_email": "jane.tan@tech.gov.sg", **changes}


CONTEXTS = {"invitation": invitation, "invitation_seed": invitation_seed, "rejection_notice": rejection_notice,
            "expiry_notice": expiry_notice, "closure_notice": closure_notice, "approver_digest": approver_digest,
            "invitation_sent_notice": invitation_sent_notice}


def test_approver_digest_lists_expiring_and_new_requests_with_a_link_to_the_queue():
    email = render("approver_digest", approver_digest())
    assert email.subject == "300 TechPass requests waiting for approval (1 expiring soon)"
    for body in (email.text, email.html):
        assert "ken@tech.gov.sg" in body and "jane.tan@tech.gov.sg" in body
        assert "And 230 more requests" in body and QUEUE in body
        assert "10 December 2026" in body
    assert "EXPIRING SOON (1)" in email.text and "NEW SINCE THE LAST DIGEST (259)" in email.text


def test_approver_digest_shows_a_batch_as_one_line_with_a_link_and_other_requests_by_requester_each_a_link():
    email = render("approver_digest", approver_digest())
    text = email.text
    assert f"Batch of 27 from amy@tech.gov.sg — 3 need a closer look\n{QUEUE}?batch=b1" in text
    assert ("From zed@tech.gov.sg:\n- jane.tan@tech.gov.sg (Email invitation), expires 10 December 2026\n"
            f"  {QUEUE}/r1\n- li@tech.gov.sg") in text
    assert f"And 230 more requests: {QUEUE}" in text
    html = email.html
    assert f'<a href="{QUEUE}?batch=b1" style="color:#1a56b8;">Batch of 27 from amy@tech.gov.sg</a> — 3 need a closer look' in html
    assert f'<a href="{QUEUE}/r1" style="color:#1a56b8;">jane.tan@tech.gov.sg</a>' in html
    assert f'<a href="{QUEUE}/r2" style="color:#1a56b8;">li@tech.gov.sg</a>' in html
    assert f'<a href="{QUEUE}" style="color:#1a56b8;">see them all in the queue</a>' in html
    assert "From zed@tech.gov.sg:" in html


def test_approver_digest_queued_before_grouping_is_grouped_by_requester_and_counted():
    earlier = {"invitee_email": "jane.tan@tech.gov.sg", "requester": "amy@tech.gov.sg", "method": "Email invitation",
               "expires_at": "2026-12-10T15:59:00Z"}
    email = render("approver_digest", {"request_id": "digest-1", "new": [earlier], "new_count": 3, "expiring": [],
                                       "expiring_count": 0, "waiting_count": 3, "queue_url": QUEUE})
    assert f"From amy@tech.gov.sg:\n- jane.tan@tech.gov.sg (Email invitation), expires 10 December 2026\n  {QUEUE}\n" in email.text
    assert f"And 2 more requests: {QUEUE}" in email.text


def test_approver_digest_says_a_single_request_needing_a_closer_look_in_the_singular():
    batch = {"requester": "amy@tech.gov.sg", "count": 2, "batch_url": f"{QUEUE}?batch=b1", "closer_look": 1, "items": []}
    email = render("approver_digest", approver_digest(new_groups=[batch], new_count=2, new_more=0))
    assert "Batch of 2 from amy@tech.gov.sg — 1 needs a closer look" in email.text and "And " not in email.text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x"])
def test_approver_digest_refuses_a_link_that_is_not_a_web_address(url):
    with pytest.raises(InvalidContext):
        render("approver_digest", approver_digest(new_groups=[
            {"requester": "amy@tech.gov.sg", "count": 1, "batch_url": url, "closer_look": 0, "items": []}]))


def test_expiry_notice_tells_the_requester_nobody_decided_in_time():
    email = render("expiry_notice", expiry_notice())
    assert email.subject == "Your TechPass request for vendor.lee@example.com has expired"
    assert "within 14 days" in email.text and "5f0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31" in email.html


def test_the_catalog_holds_exactly_the_emails_the_message_contract_names():
    # a template the contract names but the notifier lacks would fail every send of it; one the
    # notifier has but the contract does not name is sent by no service
    assert sorted(CATALOG) == sorted(Template.ALL)
    assert Template.INVITATIONS < set(Template.ALL)


@pytest.mark.parametrize("template", sorted(CATALOG))
def test_every_catalogued_template_renders_a_subject_text_and_html(template):
    email = render(template, CONTEXTS[template]())

    assert email.subject and "\n" not in email.subject and email.subject == email.subject.strip()
    assert email.text.strip()
    assert email.html.lstrip().startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in email.html


def test_invitation_shows_username_activation_link_and_requester():
    email = render("invitation", invitation())

    for body in (email.text, email.html):
        assert "TechPass" in body
        assert "meiling.tan" in body
        assert "raj.kumar@tech.gov.sg" in body
        assert "5f0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31" in body
    assert "Dear Tan Mei Ling," in email.text
    assert "https://techpass.example.gov.sg/activate?token=abc123&step=1" in email.text
    assert 'href="https://techpass.example.gov.sg/activate?token=abc123&amp;step=1"' in email.html
    assert "SEED" not in email.text


def test_invitation_without_a_name_greets_the_invitee_politely():
    email = render("invitation", invitation(recipient_name=""))

    assert email.text.startswith("Hello,\n")
    assert "Dear ," not in email.text and "Dear ," not in email.html


def test_invitation_with_seed_shows_the_enrolment_code_and_expiry():
    email = render("invitation_seed", invitation_seed())

    assert "SEED" in email.subject
    for body in (email.text, email.html):
        assert "K7QX-29FD" in body
        assert "10 December 2026" in body
        assert "endpoint security suite" in body
        assert "meiling.tan" in body
    assert "1. Activate your TechPass account" in email.text
    assert "<ol" in email.html


def test_seed_expiry_is_given_as_a_singapore_date_and_time():
    # 20:30 UTC on 9 December is already 10 December in Singapore.
    email = render("invitation_seed", invitation_seed(seed_expires_at="2026-12-09T20:30:00+00:00"))

    assert "10 December 2026, 4:30 am" in email.text
    assert "9 December" not in email.text


def test_seed_expiry_without_an_offset_is_read_as_utc():
    email = render("invitation_seed", invitation_seed(seed_expires_at="2026-12-09T20:30:00"))

    assert "10 December 2026, 4:30 am" in email.text


def test_rejection_notice_tells_the_requester_who_rejected_which_request_and_why():
    email = render("rejection_notice", rejection_notice())

    assert email.subject == "Your TechPass request for vendor.lee@example.com was rejected"
    for body in (email.text, email.html):
        assert "vendor.lee@example.com" in body
        assert "The project this access was for has ended." in body
        assert "approver.ong@tech.gov.sg" in body
        assert "5f0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31" in body


def test_closure_notice_tells_the_requester_which_request_was_closed_and_why():
    email = render("closure_notice", closure_notice())

    assert email.subject == "Your TechPass request for vendor.lee@example.com was closed"
    for body in (email.text, email.html):
        assert "vendor.lee@example.com" in body
        assert "already holds a TechPass account" in _flat(body)
        assert "5f0c2a9e-6d1b-4a7e-9a55-2f4e0c1d7b31" in body
    assert "already holds" not in email.subject  # the reason stays in the bodies, out of every header


def test_html_body_escapes_markup_in_a_closing_reason():
    email = render("closure_notice", closure_notice(reason='<img src=x onerror="alert(1)"> & <b>done</b>'))

    assert "<img" not in email.html and "<b>done</b>" not in email.html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; &lt;b&gt;done&lt;/b&gt;" in email.html
    assert '<img src=x onerror="alert(1)"> & <b>done</b>' in _flat(email.text)


def test_html_body_escapes_markup_in_names():
    email = render("invitation", invitation(recipient_name='<script>alert("x")</script> & <b>Co</b>'))

    assert "<script>" not in email.html and "<b>Co</b>" not in email.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;" in email.html


def test_html_body_escapes_markup_in_a_rejection_reason():
    email = render("rejection_notice", rejection_notice(reason='<a href="https://evil.example">click</a>'))

    assert "https://evil.example" in email.html  # shown as text...
    assert '<a href="https://evil.example">' not in email.html  # ...never as a link


def test_text_body_is_not_html_escaped():
    email = render("invitation", invitation(recipient_name="Siti O'Brien & Sons <Pte> Ltd"))

    assert "Dear Siti O'Brien & Sons <Pte> Ltd," in email.text
    assert "&amp;" not in email.text and "&#39;" not in email.text


def test_line_breaks_in_values_cannot_forge_lines_in_the_bodies():
    forged = "Mei Ling\n\nYour password is expiring, sign in at https://evil.example\r\n--"
    email = render("invitation", invitation(recipient_name=forged, username="mei\u2028ling\x00"))

    # The text is wrapped at 72 characters, so the forged words are compared with the line breaks as spaces.
    assert "Dear Mei Ling Your password is expiring, sign in at https://evil.example --," in " ".join(email.text.split())
    assert "\nYour password" not in email.text
    assert "mei ling " in email.text
    assert "\x00" not in email.text + email.html and "\u2028" not in email.text + email.html


def test_bidi_overrides_in_values_are_neutralised():
    email = render("invitation", invitation(recipient_name="Tan \u202egnip\u202c"))

    assert "\u202e" not in email.text and "\u202e" not in email.html


def test_subject_with_newline_is_refused():
    with pytest.raises(UnsafeSubject) as refused:
        render("rejection_notice", rejection_notice(invitee_email="a@b.sg\r\nBcc: everyone@tech.gov.sg"))

    assert isinstance(refused.value, PermanentError)
    assert "everyone@tech.gov.sg" not in str(refused.value)


def test_subject_with_an_encoded_word_marker_is_refused():
    with pytest.raises(UnsafeSubject):
        render("rejection_notice", rejection_notice(invitee_email="=?utf-8?q?=0D=0ABcc:x@y.sg?=@b.sg"))


@pytest.mark.parametrize("subject", ["", "   ", "two\nlines", "two\rlines", "tab\there", "sep\u2028arated", "=?utf-8?b?eA==?="])
def test_a_rendered_email_cannot_hold_an_unsafe_subject(subject):
    with pytest.raises(UnsafeSubject):
        RenderedEmail(subject=subject, text="t", html="<p>h</p>")


def test_a_rendered_email_is_immutable():
    email = render("invitation", invitation())

    with pytest.raises(dataclasses.FrozenInstanceError):
        email.subject = "changed"  # type: ignore[misc]


def test_unknown_template_is_permanent():
    with pytest.raises(UnknownTemplate) as refused:
        render("password_reset", invitation())

    assert isinstance(refused.value, PermanentError)


def test_unknown_context_field_is_refused():
    with pytest.raises(InvalidContext) as refused:
        validate_context("invitation", invitation(bcc="someone@example.com"))

    assert refused.value.errors == {"bcc": ["Unknown field."]}
    assert isinstance(refused.value, PermanentError)


@pytest.mark.parametrize("template", sorted(CATALOG))
def test_missing_context_field_is_refused(template):
    context = CONTEXTS[template]()
    del context["request_id"]

    with pytest.raises(InvalidContext, match="request_id"):
        render(template, context)


def test_seed_fields_are_refused_on_a_plain_invitation():
    with pytest.raises(InvalidContext):
        validate_context("invitation", invitation_seed())


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,hi", "ftp://files.example.gov.sg/a", "not a url"])
def test_activation_link_must_be_a_web_address(url):
    with pytest.raises(InvalidContext, match="activation_url"):
        render("invitation", invitation(activation_url=url))


def test_seed_expiry_must_be_a_date_and_time():
    with pytest.raises(InvalidContext, match="seed_expires_at"):
        render("invitation_seed", invitation_seed(seed_expires_at="next Tuesday"))


def test_invalid_context_errors_do_not_repeat_the_values():
    with pytest.raises(InvalidContext) as refused:
        validate_context("rejection_notice", rejection_notice(invitee_email=12345, reason="secret reason"))

    assert "secret reason" not in str(refused.value) and "12345" not in str(refused.value)


def test_a_validated_context_can_be_rendered_again():
    values = validate_context("invitation_seed", invitation_seed())

    assert render("invitation_seed", values) == render("invitation_seed", invitation_seed())


# Long but ordinary values: a long name, long addresses, an approver's reason of several sentences.
LONG_VALUES = {
    "recipient_name": "Muhammad Hafiz bin Abdul Rahman Siddiqui",
    "requester_email": "raj.kumar.subramaniam.s@digital-services.tech.gov.sg",
    "invitee_email": "alexandra.fernandez-whitaker@consulting.example.com",
    "decided_by": "approver.wong.kah.seng@enterprise-platforms.tech.gov.sg",
    "reason": "The project this access was for has ended, and the vendor's contract was not renewed. " * 4,
}


def _long(template: str) -> dict:
    context = CONTEXTS[template]()
    return {**context, **{k: v for k, v in LONG_VALUES.items() if k in context}}


def _overlong(text: str) -> list[str]:
    # A single word longer than a line (a web link) is left whole: cut in two it would not open.
    return [line for line in text.splitlines() if len(line) > WIDTH and " " in line.strip()]


@pytest.mark.parametrize("template", sorted(CATALOG))
@pytest.mark.parametrize("values", ["usual", "long"])
def test_text_body_lines_are_at_most_72_characters(template, values):
    context = CONTEXTS[template]() if values == "usual" else _long(template)

    text = render(template, context).text

    assert _overlong(text) == []
    # every value is there in full, whatever its line breaks
    flat = " ".join(text.split())
    for key in ("requester_email", "invitee_email", "decided_by", "recipient_name"):
        if key in context and context[key]:
            assert context[key] in flat, key


@pytest.mark.parametrize("name", ["Li", "Tan Mei Ling", "Muhammad Hafiz bin Abdul Rahman Siddiqui"])
@pytest.mark.parametrize("expires", ["2026-12-10T08:32:00Z", "2026-01-01T01:05:00Z"])
def test_a_time_is_never_parted_from_its_time_zone(name, expires):
    text = render("invitation_seed", invitation_seed(recipient_name=name, seed_expires_at=expires,
                                                     requester_email=LONG_VALUES["requester_email"])).text

    lines = text.splitlines()
    (line,) = [line for line in lines if "(Singapore time)" in line]
    assert re.search(r"\b\d{1,2} \w+ \d{4}, \d{1,2}:\d\d [ap]m \(Singapore time\)\.$", line), line
    assert not any(line.startswith("(Singapore time)") for line in lines)


def test_a_phrase_held_together_moves_to_the_next_line_whole():
    text = wrap("The enrolment code must be used by " + together("10 December 2026, 4:32 pm (Singapore time)") + ".")

    assert text.splitlines() == ["The enrolment code must be used by", "10 December 2026, 4:32 pm (Singapore time)."]
    assert "\u00a0" not in text


def test_numbered_steps_wrap_under_their_own_text_and_indented_lines_are_kept():
    step = "2. On the device you will use for work, install SEED and sign in with your TechPass username when asked."
    code = "    " + "K7QX-29FD " * 10

    lines = wrap(step + "\n\n" + code).splitlines()

    assert lines[0].startswith("2. On the device") and lines[1].startswith("   ") and not lines[1].startswith("    ")
    assert lines[-1] == code


def test_links_are_never_cut():
    url = "https://techpass.example.gov.sg/activate?token=" + "a1b2c3" * 15 + "&step=1"

    text = render("invitation", invitation(activation_url=url)).text

    assert url in text.splitlines()


def test_every_catalogued_template_is_compiled_before_the_first_email(monkeypatch):
    # Jinja compiles a template on first use; the notifier does it at startup so the first
    # invitee after a start does not wait for it. Once compiled, nothing is read from disk.
    import jinja2

    from notifier import rendering

    assert rendering.compile_templates() == 3 * len(CATALOG)

    def no_disk(self, environment, template):
        raise AssertionError(f"{template} read from disk after startup")

    monkeypatch.setattr(jinja2.FileSystemLoader, "get_source", no_disk)
    assert render("invitation", invitation()).subject
    assert render("rejection_notice", rejection_notice()).subject

"""Emails carrying long texts in any script reach a relay that refuses lines over 998 bytes, and read back whole.

The relay is tests/support/mailbox.py (aiosmtpd) refusing such a line with 500, as standards-keeping
relays do; every text is read back from the received message's decoded text and HTML parts.
"""
from __future__ import annotations

import html
import smtplib

import pytest

from notifier.adapters.mailer import SmtpMailer, message_id_for
from notifier.message import compose_bytes, parse_sender
from notifier.rendering import render
from tests.notifier.test_rendering import CONTEXTS
from tests.support.mailbox import html_of, text_of

MAIL_FROM = "TechPass Invites <no-reply@invites.local>"
REASON_MAX_LENGTH = 1000  # what intake lets an approver write as a rejection reason
NAME_MAX_LENGTH = 100  # each of a first and a last name


def _repeat(phrase: str, length: int) -> str:
    return (phrase * (length // len(phrase) + 1))[:length].strip()


# Phrases of each script; Chinese is written without spaces, so wrapping the text never breaks it.
SCRIPTS = {
    "latin": "Le projet est terminé et le contrat du fournisseur n'a pas été renouvelé. ",
    "chinese": "该项目已经结束，供应商的合同没有续签，因此不再需要访问权限。",
    "tamil": "திட்டம் முடிந்துவிட்டது, ஒப்பந்தம் புதுப்பிக்கப்படவில்லை. ",
    "arabic": "انتهى المشروع ولم يتم تجديد عقد المورد. ",
    "emoji": "🙂🚀👩🏽‍💻🇸🇬",
}


def _address(local: str, domain_label: str) -> str:
    """An address of the longest form intake takes (254 characters, a 64-character local part)."""
    local = _repeat(local, 64)
    labels = [_repeat(domain_label, 63)] * 3
    domain = ".".join(labels) + ".gov.sg"
    return f"{local}@{domain[len(local) + 1 + len(domain) - 254:]}"


INVITEE = _address("alexandra.fernandez-whitaker.", "consulting-")
APPROVER = _address("approver.wong.kah.seng.", "enterprise-platforms-")
REQUESTER = _address("raj.kumar.subramaniam.", "digital-services-")


def long_context(template: str, script: str) -> tuple[dict, list[str]]:
    """The template's context with every value a person typed as long as intake allows; and those values."""
    phrase = SCRIPTS[script]
    name = f"{_repeat(phrase, NAME_MAX_LENGTH)} {_repeat(phrase[::-1], NAME_MAX_LENGTH)}"
    values = {
        "reason": _repeat(phrase, REASON_MAX_LENGTH),
        "recipient_name": name,
        "invitee_email": INVITEE,
        "decided_by": APPROVER,
        "requester_email": REQUESTER,
        "username": "m" * 64,
    }
    context = CONTEXTS[template]()
    if template == "approver_digest":
        items = [{"invitee_email": INVITEE, "requester": REQUESTER, "method": "Create account",
                  "expires_at": "2026-12-10T15:59:00Z", "url": "https://invites.example.gov.sg/approvals/r1"}] * 5
        group = {"requester": REQUESTER, "count": 5, "batch_url": None, "closer_look": 0, "items": items}
        batch = {"requester": REQUESTER, "count": 40, "batch_url": "https://invites.example.gov.sg/approvals?batch=b1",
                 "closer_look": 2, "items": []}
        return {**context, "new_groups": [batch, group], "expiring_groups": [group]}, [INVITEE, REQUESTER]
    typed = {key: value for key, value in values.items() if key in context}
    return {**context, **typed}, list(typed.values())


def _flat(text: str) -> str:
    # plain text is wrapped at spaces: compare words, not line breaks
    return " ".join(text.split())


TEMPLATES = ["rejection_notice", "invitation", "invitation_seed", "approver_digest", "expiry_notice",
             "closure_notice", "invitation_sent_notice"]


@pytest.fixture
def mailer(mailbox):
    with SmtpMailer(mailbox.url, MAIL_FROM, timeout=5) as mailer:
        yield mailer


def test_the_relay_refuses_a_line_over_998_bytes(mailbox):
    with smtplib.SMTP("127.0.0.1", mailbox.port, timeout=5) as smtp:
        smtp.sendmail("a@invites.local", ["b@tech.gov.sg"], b"Subject: ok\r\n\r\n" + b"a" * 998 + b"\r\n")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail("a@invites.local", ["b@tech.gov.sg"], b"Subject: long\r\n\r\n" + b"a" * 999 + b"\r\n")
    assert refused.value.smtp_code == 500
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("template", TEMPLATES)
def test_long_texts_in_any_script_are_delivered_and_read_back_whole(mailer, mailbox, template, script):
    context, typed = long_context(template, script)
    rendered = render(template, context)

    mailer.send("mei@tech.gov.sg", rendered, message_id_for("req-1", template, "1", "invites.local"))

    [message] = mailbox.messages
    # as received, each line ends in CRLF
    text, page = _flat(text_of(message)), html.unescape(html_of(message).replace("\r\n", "\n"))
    for value in typed:
        assert _flat(value) in text
        assert value in page
    assert text == _flat(rendered.text) and page == html.unescape(rendered.html)
    assert message["Subject"] == rendered.subject


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("template", TEMPLATES)
def test_no_line_of_the_message_is_over_998_bytes_and_only_its_own_headers_are_set(template, script):
    context, _ = long_context(template, script)

    data, _ = compose_bytes(parse_sender(MAIL_FROM), "mei@tech.gov.sg", render(template, context),
                            message_id_for("req-1", template, "1", "invites.local"))

    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = [line.split(":", 1)[0] for line in head.split("\r\n") if not line.startswith(" ")]
    assert names == ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type"]

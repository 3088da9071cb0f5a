"""The SMTP mailer against a real aiosmtpd server: message shape, safe headers, reuse, and failure kinds."""
from __future__ import annotations

import email.utils
import socket
import time
import traceback

import pytest

from invite_common.errors import PermanentError, TransientError
from notifier.adapters.mailer import (
    InvalidRecipient,
    PermanentSmtpError,
    SmtpEndpoint,
    SmtpMailer,
    TransientSmtpError,
    message_id_for,
    parse_smtp_url,
)
from notifier.rendering import render
from tests.support.smtp_recorder import RecordingHandler
from tests.support.ports import free_port

MAIL_FROM = "TechPass Invites <no-reply@invites.local>"
MESSAGE_ID = message_id_for("req-1", "invitation", "1", "invites.local")


@pytest.fixture
def rendered():
    return render(
        "invitation",
        {
            "request_id": "req-1",
            "recipient_name": "Tan Mei Ling",
            "username": "meiling.tan",
            "requester_email": "raj.kumar@tech.gov.sg",
            "activation_url": "https://techpass.example.gov.sg/activate?token=abc123",
        },
    )


@pytest.fixture
def mailer_for():
    """Make mailers for a server URL, closing them after the test."""
    made: list[SmtpMailer] = []

    def make(url: str, timeout: float = 5.0) -> SmtpMailer:
        mailer = SmtpMailer(url, MAIL_FROM, timeout=timeout)
        made.append(mailer)
        return mailer

    yield make
    for mailer in made:
        mailer.close()


def delivered(rendered, smtp_server, mailer_for, to="mei@tech.gov.sg"):
    """The email as the mail server took it from the mailer."""
    handler = RecordingHandler()
    mailer_for(f"smtp://127.0.0.1:{smtp_server(handler)}").send(to, rendered, MESSAGE_ID)
    [received] = handler.received
    return received


def test_message_is_multipart_alternative_with_text_then_html(rendered, smtp_server, mailer_for):
    message = delivered(rendered, smtp_server, mailer_for).message

    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert text.get_content_type() == "text/plain" and text.get_content_charset() == "utf-8"
    assert html.get_content_type() == "text/html" and html.get_content_charset() == "utf-8"
    assert text.get_content().replace("\r\n", "\n") == rendered.text
    assert html.get_content().replace("\r\n", "\n") == rendered.html


def test_message_carries_sender_recipient_subject_date_and_message_id(rendered, smtp_server, mailer_for):
    received = delivered(rendered, smtp_server, mailer_for)
    message = received.message

    assert message["From"] == MAIL_FROM
    assert message["To"] == "mei@tech.gov.sg"
    assert message["Subject"] == rendered.subject
    assert message["Message-ID"] == MESSAGE_ID
    assert message["Auto-Submitted"] == "auto-generated"
    sent_at = email.utils.parsedate_to_datetime(message["Date"])
    assert abs(time.time() - sent_at.timestamp()) < 60
    assert b"\r\n" in received.data and b"\n" not in received.data.replace(b"\r\n", b"")  # SMTP line endings


@pytest.mark.parametrize(
    "to",
    [
        "victim@tech.gov.sg\r\nBcc: everyone@tech.gov.sg",
        "victim@tech.gov.sg\nSubject: forged",
        "victim@tech.gov.sg\r",
        "victim@tech.gov.sg, other@tech.gov.sg",
        "Victim <victim@tech.gov.sg>",
        "<victim@tech.gov.sg>",
        "victim @tech.gov.sg",
        "=?utf-8?q?victim?=@tech.gov.sg",
        "victim@tech.gov.sg@evil.example",
        "victim",
        "vïctim@tech.gov.sg",
        '"victim"@tech.gov.sg',
        "victim@[127.0.0.1]",
        "victim@localhost",
        "victim@tech..gov.sg",
        ".victim@tech.gov.sg",
        "",
    ],
)
def test_recipient_with_crlf_never_reaches_a_header(to, rendered, smtp_server, mailer_for):
    handler = RecordingHandler()
    mailer = mailer_for(f"smtp://127.0.0.1:{smtp_server(handler)}")

    with pytest.raises(InvalidRecipient) as refused:
        mailer.send(to, rendered, MESSAGE_ID)

    assert isinstance(refused.value, PermanentError)
    assert "victim" not in str(refused.value)
    assert handler.received == []


def test_recipient_domain_is_idna_encoded_in_the_header(rendered, smtp_server, mailer_for):
    received = delivered(rendered, smtp_server, mailer_for, to="Lee@Bücher.Example")

    assert received.message["To"] == "Lee@xn--bcher-kva.example"
    assert received.rcpt_tos == ["Lee@xn--bcher-kva.example"]


def test_same_request_template_and_send_has_same_message_id():
    first = message_id_for("req-1", "invitation", "send-1", "invites.local")

    assert first == message_id_for("req-1", "invitation", "send-1", "invites.local")
    assert first.startswith("<") and first.endswith("@invites.local>")
    assert len(first[1:].split("@")[0]) == 64


@pytest.mark.parametrize(
    "other",
    [("req-2", "invitation", "send-1"), ("req-1", "invitation_seed", "send-1"), ("req-1", "invitation", "send-2"),
     ("req-1-invitation", "", "send-1")],
)
def test_another_request_template_or_send_has_another_message_id(other):
    assert message_id_for(*other, "invites.local") != message_id_for("req-1", "invitation", "send-1", "invites.local")


def test_message_id_uses_the_domain_of_mail_from():
    mailer = SmtpMailer("smtp://127.0.0.1:1025", "Invites <no-reply@Invites.Tech.Gov.SG>")

    assert mailer.message_id("req-1", "invitation", 1).endswith("@invites.tech.gov.sg>")
    assert mailer.message_id("req-1", "invitation", 1) == message_id_for("req-1", "invitation", 1, "invites.tech.gov.sg")


def test_message_is_delivered_from_mail_from_to_the_recipient(rendered, smtp_server, mailer_for):
    handler = RecordingHandler()
    mailer = mailer_for(f"smtp://127.0.0.1:{smtp_server(handler)}")

    mailer.send("mei@tech.gov.sg", rendered, MESSAGE_ID)

    [received] = handler.received
    assert received.mail_from == "no-reply@invites.local"
    assert received.rcpt_tos == ["mei@tech.gov.sg"]
    assert received.message["Message-ID"] == MESSAGE_ID
    assert received.message["Subject"] == rendered.subject
    # SMTP carries CRLF line endings; the content is otherwise exactly what was rendered.
    assert received.message.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html
    assert received.message.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text


def test_connection_is_reused_between_messages(rendered, smtp_server, mailer_for):
    handler = RecordingHandler()
    mailer = mailer_for(f"smtp://127.0.0.1:{smtp_server(handler)}")

    for n in range(3):
        mailer.send(f"user{n}@tech.gov.sg", rendered, message_id_for("req", "invitation", n, "invites.local"))

    assert len(handler.received) == 3
    assert len(handler.connections) == 1
    assert handler.noops == 0


def test_connection_closed_by_the_server_is_replaced_on_the_next_send(rendered, smtp_server, mailer_for):
    handler = RecordingHandler()
    # aiosmtpd drops a client idle for longer than `timeout`, as real servers do.
    mailer = mailer_for(f"smtp://127.0.0.1:{smtp_server(handler, timeout=0.3)}")

    mailer.send("first@tech.gov.sg", rendered, MESSAGE_ID)
    time.sleep(0.8)
    mailer.send("second@tech.gov.sg", rendered, MESSAGE_ID)

    assert [r.rcpt_tos for r in handler.received] == [["first@tech.gov.sg"], ["second@tech.gov.sg"]]
    assert len(handler.connections) == 2


def test_idle_connection_is_checked_with_noop_before_reuse(rendered, smtp_server, mailer_for):
    handler = RecordingHandler()
    mailer = mailer_for(f"smtp://127.0.0.1:{smtp_server(handler)}")
    mailer.idle_check_seconds = 0.0

    mailer.send("first@tech.gov.sg", rendered, MESSAGE_ID)
    time.sleep(0.05)
    mailer.send("second@tech.gov.sg", rendered, MESSAGE_ID)

    assert handler.noops == 1
    assert len(handler.connections) == 1


@pytest.mark.parametrize(
    "handler, kind, code",
    [
        (RecordingHandler(rcpt_reply="451 4.3.0 try later"), TransientSmtpError, 451),
        (RecordingHandler(rcpt_reply="452 4.2.2 mailbox full"), TransientSmtpError, 452),
        (RecordingHandler(rcpt_reply="550 5.1.1 no such user"), PermanentSmtpError, 550),
        (RecordingHandler(data_reply="451 4.7.1 greylisted, try later"), TransientSmtpError, 451),
        (RecordingHandler(data_reply="554 5.7.1 message refused"), PermanentSmtpError, 554),
    ],
)
def test_smtp_4xx_is_transient_and_5xx_is_permanent(handler, kind, code, rendered, smtp_server, mailer_for):
    mailer = mailer_for(f"smtp://127.0.0.1:{smtp_server(handler)}")

    with pytest.raises(kind) as failed:
        mailer.send("mei@tech.gov.sg", rendered, MESSAGE_ID)

    assert failed.value.code == code
    assert str(code) in str(failed.value)
    assert isinstance(failed.value, TransientError if kind is TransientSmtpError else PermanentError)


def test_smtp_errors_do_not_reveal_the_recipient(rendered, smtp_server, mailer_for):
    handler = RecordingHandler(rcpt_reply="550 5.1.1 <{address}>: Recipient address rejected: no such user")
    mailer = mailer_for(f"smtp://127.0.0.1:{smtp_server(handler)}")
    recipient = "mei.ling.tan@tech.gov.sg"  # named, so the traceback's source lines do not show it

    with pytest.raises(PermanentSmtpError) as failed:
        mailer.send(recipient, rendered, MESSAGE_ID)

    logged = "".join(traceback.format_exception(failed.value))
    assert "mei.ling.tan" not in logged
    assert str(failed.value) == "SMTP 550 at RCPT TO: 5.1.1 <address>: Recipient address rejected: no such user"


def test_connection_is_kept_after_a_permanent_refusal(rendered, smtp_server, mailer_for):
    handler = RecordingHandler(rcpt_reply="550 5.1.1 no such user", refuse_only="gone@tech.gov.sg")
    mailer = mailer_for(f"smtp://127.0.0.1:{smtp_server(handler)}")

    mailer.send("first@tech.gov.sg", rendered, MESSAGE_ID)
    with pytest.raises(PermanentSmtpError):
        mailer.send("gone@tech.gov.sg", rendered, MESSAGE_ID)
    mailer.send("third@tech.gov.sg", rendered, MESSAGE_ID)

    assert [r.rcpt_tos for r in handler.received] == [["first@tech.gov.sg"], ["third@tech.gov.sg"]]
    assert len(handler.connections) == 1


def test_refused_connection_is_transient(rendered, mailer_for):
    mailer = mailer_for(f"smtp://127.0.0.1:{free_port()}")

    with pytest.raises(TransientSmtpError, match="cannot reach SMTP server"):
        mailer.send("mei@tech.gov.sg", rendered, MESSAGE_ID)


def test_unresponsive_server_times_out_as_transient(rendered, mailer_for):
    # A listener that accepts connections but never greets: the mailer must not wait forever.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        mailer = mailer_for(f"smtp://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        started = time.monotonic()

        with pytest.raises(TransientSmtpError):
            mailer.send("mei@tech.gov.sg", rendered, MESSAGE_ID)

    assert time.monotonic() - started < 3


def test_server_dropping_the_connection_mid_delivery_is_transient_and_recovers(rendered, smtp_server, mailer_for):
    handler = RecordingHandler(drop_connection_at_data=True)
    mailer = mailer_for(f"smtp://127.0.0.1:{smtp_server(handler)}")

    with pytest.raises(TransientSmtpError):
        mailer.send("mei@tech.gov.sg", rendered, MESSAGE_ID)
    handler.drop_connection_at_data = False
    mailer.send("mei@tech.gov.sg", rendered, MESSAGE_ID)

    assert len(handler.received) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_credentials_in_the_url_are_used_to_log_in(rendered, smtp_server, mailer_for):
    handler = RecordingHandler()
    port = smtp_server(handler, authenticator=handler.authenticate, auth_required=True, auth_require_tls=False)
    mailer = mailer_for(f"smtp://notifier%40invites:p%3Ass%20word@127.0.0.1:{port}")

    mailer.send("mei@tech.gov.sg", rendered, MESSAGE_ID)

    assert handler.logins == [("notifier@invites", "p:ss word")]
    assert len(handler.received) == 1


def test_smtps_delivers_over_implicit_tls(rendered, smtp_server, mailer_for, server_tls_context):
    handler = RecordingHandler()
    mailer = mailer_for(f"smtps://127.0.0.1:{smtp_server(handler, ssl_context=server_tls_context)}")

    mailer.send("mei@tech.gov.sg", rendered, MESSAGE_ID)
    mailer.send("lee@tech.gov.sg", rendered, MESSAGE_ID)

    assert [r.tls for r in handler.received] == [True, True]
    assert len(handler.connections) == 1


def test_starttls_upgrades_the_connection_before_sending(rendered, smtp_server, mailer_for, server_tls_context):
    handler = RecordingHandler()
    port = smtp_server(handler, tls_context=server_tls_context, require_starttls=True)
    mailer = mailer_for(f"smtp://127.0.0.1:{port}?starttls=true")

    mailer.send("mei@tech.gov.sg", rendered, MESSAGE_ID)

    assert [r.tls for r in handler.received] == [True]


@pytest.mark.parametrize(
    "url, endpoint",
    [
        ("smtp://127.0.0.1:1025", SmtpEndpoint("127.0.0.1", 1025, implicit_tls=False, starttls=False)),
        ("smtp://mail.tech.gov.sg", SmtpEndpoint("mail.tech.gov.sg", 25, implicit_tls=False, starttls=False)),
        ("smtp://u:p@mail.tech.gov.sg:587?starttls=true", SmtpEndpoint("mail.tech.gov.sg", 587, False, True, "u", "p")),
        ("smtps://user:pass@mail.tech.gov.sg:465", SmtpEndpoint("mail.tech.gov.sg", 465, True, False, "user", "pass")),
        ("smtps://mail.tech.gov.sg", SmtpEndpoint("mail.tech.gov.sg", 465, implicit_tls=True, starttls=False)),
    ],
)
def test_smtp_url_gives_host_port_tls_and_credentials(url, endpoint):
    assert parse_smtp_url(url) == endpoint


@pytest.mark.parametrize(
    "url",
    ["http://mail.tech.gov.sg", "smtp://", "smtps://mail.tech.gov.sg?starttls=true", "smtp://mail?starttls=maybe",
     "smtp://mail?tls=1", "smtp://mail/path"],
)
def test_unusable_smtp_url_is_refused(url):
    with pytest.raises(ValueError):
        parse_smtp_url(url)


def test_smtp_password_is_not_shown_in_the_endpoint():
    assert "hunter2" not in repr(parse_smtp_url("smtps://user:hunter2@mail.tech.gov.sg"))


@pytest.mark.parametrize("mail_from", ["", "nobody", "a@x.sg, b@x.sg", "Invites <no-reply@invites.local>\r\nBcc: x@y.sg"])
def test_mail_from_must_be_one_address(mail_from):
    with pytest.raises(ValueError):
        SmtpMailer("smtp://127.0.0.1:1025", mail_from)

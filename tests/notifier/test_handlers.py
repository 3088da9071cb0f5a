"""The send-email handler's two phases on a real database and SMTP server, without a broker."""
from __future__ import annotations

import pytest

from invite_common.errors import PermanentError, TransientError
from invite_common.messages import new_message
from invite_common.outbox import Outbox
from invite_common.topology import Topology
from notifier import handlers
from notifier.db import database
from notifier.models import Delivery
from notifier.adapters.mailer import SmtpMailer
from tests.support.smtp_recorder import RecordingHandler

pytestmark = pytest.mark.both_databases("a message is sent once by a unique constraint")

CONTEXT = {
    "request_id": "req-1",
    "recipient_name": "Tan Mei Ling",
    "username": "meiling.tan",
    "requester_email": "raj.kumar@tech.gov.sg",
    "activation_url": "https://techpass.example.gov.sg/activate",
}


def command(send_key="invitation-1", **payload):
    return new_message(
        "notifier.send_email",
        {"request_id": "req-1", "template": "invitation", "to": "mei@tech.gov.sg", "send_key": send_key, "context": CONTEXT} | payload,
        correlation_id="req-1",
        producer="approval",
    )


@pytest.fixture
def notifier_deps(notifier_db, smtp_server):
    smtp = RecordingHandler()
    port = smtp_server(smtp)
    mailer = SmtpMailer(f"smtp://127.0.0.1:{port}", "TechPass Invites <no-reply@invites.local>", timeout=5)
    yield handlers.Dependencies(outbox=Outbox(database, Topology()), mailer=mailer), smtp
    mailer.close()


def test_a_send_whose_outcome_was_not_committed_is_not_mailed_again(notifier_deps):
    notifier_deps, smtp = notifier_deps
    env = command()
    first = handlers.send_email(env, notifier_deps)  # then the commit fails: the database went away
    again = handlers.send_email(env, notifier_deps)

    assert again == first and len(smtp.received) == 1
    with database.atomic():
        handlers.record_email_sent(env, again, notifier_deps)
    assert handlers.send_email(env, notifier_deps) is handlers.ALREADY_SENT
    assert len(smtp.received) == 1 and notifier_deps.accepted == {}
    assert [r.message_type for r in notifier_deps.outbox.pending()] == ["email.sent"]


def test_a_failure_after_the_server_took_the_email_is_recorded_as_sent(notifier_deps):
    notifier_deps, smtp = notifier_deps
    env = command()
    accepted = handlers.send_email(env, notifier_deps)
    with database.atomic():
        handlers.record_email_failed(env, RuntimeError("the commit kept failing"), notifier_deps)

    delivery = Delivery.get()
    assert (delivery.status, delivery.smtp_message_id) == ("sent", accepted.smtp_message_id)
    assert [r.message_type for r in notifier_deps.outbox.pending()] == ["email.sent"]


def test_a_send_key_too_long_to_record_is_refused_before_any_email(notifier_deps):
    notifier_deps, smtp = notifier_deps
    with pytest.raises(PermanentError):
        handlers.send_email(command(send_key="k" * 500), notifier_deps)
    assert smtp.received == []


def test_a_failed_send_put_back_in_its_queue_is_sent_and_counts_two_attempts(notifier_deps):
    notifier_deps, smtp = notifier_deps
    env = command()
    with database.atomic():
        handlers.record_email_failed(env, TransientError("SMTP 451 at DATA: try again later"), notifier_deps)
    outcome = handlers.send_email(env, notifier_deps)  # an operator moved the dead-lettered command back
    with database.atomic():
        handlers.record_email_sent(env, outcome, notifier_deps)

    delivery = Delivery.get()
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, "")
    assert [r.message_type for r in notifier_deps.outbox.pending()] == ["email.failed", "email.sent"]
    assert len(smtp.received) == 1


def test_giving_up_on_another_message_type_records_nothing(notifier_deps):
    notifier_deps, smtp = notifier_deps
    other = new_message("invite.cancelled", {"request_id": "req-1", "actor": "a@gov.sg"}, correlation_id="req-1", producer="intake")
    with database.atomic():
        handlers.record_email_failed(other, PermanentError("x"), notifier_deps)
    assert Delivery.select().count() == 0 and notifier_deps.outbox.pending() == []

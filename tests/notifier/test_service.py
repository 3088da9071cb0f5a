"""The notifier as it runs: commands in over the real broker, emails out to a real SMTP server,
outcomes in its database on SQLite and PostgreSQL, and `email.*` events out through the outbox."""
from __future__ import annotations

import json
import logging
import threading
import urllib.request
from dataclasses import dataclass, field

import pytest
from kombu import Connection

from invite_common import runtime
from notifier import settings as notifier_settings
from invite_common.broker import Outgoing, Publisher
from invite_common.logs import JsonFormatter
from invite_common.messages import Envelope, decode, new_message
from notifier import bootstrap
from notifier.db import database
from notifier.models import Delivery
from notifier.adapters.mailer import message_id_for
from notifier.rendering import render
from tests.support.smtp_recorder import RecordingHandler
from tests.support.ports import free_port
from tests.support.broker import queue_depth, wait_for
from tests.support.metrics import names, scrape, value
from tests.support.outbox import wait_until_published

pytestmark = pytest.mark.both_databases("the message log is trimmed by date in SQL")

INVITEE = "mei.ling@tech.gov.sg"
CONTEXT = {
    "request_id": "req-1",
    "recipient_name": "Tan Mei Ling",
    "username": "meiling.tan",
    "requester_email": "raj.kumar@tech.gov.sg",
    "activation_url": "https://techpass.example.gov.sg/activate",
}


def send_command(request_id="req-1", template="invitation", send_key="invitation-1", to=INVITEE, context=None) -> Envelope:
    return new_message(
        "notifier.send_email",
        {"request_id": request_id, "template": template, "to": to, "send_key": send_key,
         "context": dict(CONTEXT, request_id=request_id) if context is None else context},
        correlation_id=request_id,
        producer="approval",
    )


@dataclass
class FlakyHandler(RecordingHandler):
    """Answers DATA with a temporary refusal `refusals` times, then accepts."""

    refusals: int = 0
    refused: int = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.refusals:
            self.refused += 1
            return "451 4.3.0 Temporary local problem, try again later"
        return await super().handle_DATA(server, session, envelope)


@dataclass
class EventTap:
    """A queue of the test's own bound to `notifier.events`, to see what the notifier announces."""

    channel: object
    queue: str
    seen: list[Envelope] = field(default_factory=list)

    def received(self, type_name: str) -> list[Envelope]:
        while (message := self.channel.basic_get(self.queue, no_ack=True)) is not None:
            self.seen.append(decode(message.body))
        return [e for e in self.seen if e.type == type_name]

    def wait_for(self, type_name: str, count: int = 1) -> list[Envelope]:
        return wait_for(lambda: len(self.received(type_name)) >= count and self.received(type_name), what=f"{count} {type_name}")


@pytest.fixture
def events(amqp_url, topology):
    with Connection(amqp_url) as conn:
        channel = conn.channel()
        topology.exchange("notifier.events")(channel).declare()
        name = topology.name("test.notifier-events")
        channel.queue_declare(name, exclusive=True, auto_delete=True)
        channel.queue_bind(name, exchange=topology.exchange("notifier.events").name, routing_key="#")
        yield EventTap(channel, name)


@pytest.fixture
def start_notifier(amqp_url, topology, db_url, tmp_path, smtp_server):
    """Start the notifier in this process against a new SMTP server: `service, smtp = start_notifier(handler)`."""
    started: list[runtime.RunningService] = []

    def start(handler: RecordingHandler | None = None):
        handler = handler or RecordingHandler()
        port = smtp_server(handler)
        settings = notifier_settings.load({
            "AMQP_URL": amqp_url,
            "AMQP_NAMESPACE": topology.namespace,
            "RETRY_DELAYS": ",".join(str(d) for d in topology.retry_delays),
            "NOTIFIER_DB_URL": db_url,
            "SMTP_URL": f"smtp://127.0.0.1:{port}",
            "SMTP_TIMEOUT": "5",
            "NOTIFIER_BIND": f"127.0.0.1:{free_port()}",
            "INVITES_VAR_DIR": str(tmp_path),
        })
        service = bootstrap.start(settings)
        started.append(service)
        assert service.consumers[bootstrap.QUEUE].ready.wait(10), "the notifier did not start consuming"
        return service, handler

    yield start
    for service in started:
        service.stop()
    database.close()
    left = [t.name for t in threading.enumerate()
            if t.name in ("health", "outbox-relay", "message-log-trim", f"consumer-{bootstrap.QUEUE}")]
    assert not left, f"threads still running after stop: {left}"


def publish(amqp_url, topology, *items: Envelope | Outgoing) -> None:
    publisher = Publisher(amqp_url, topology)
    publisher.publish([i if isinstance(i, Outgoing) else Outgoing.from_envelope(i, topology) for i in items])
    publisher.close()


def dead_letters(amqp_url, topology) -> int:
    return queue_depth(amqp_url, topology.name(bootstrap.QUEUE) + ".dlq")


def test_a_send_command_delivers_one_email_and_announces_email_sent(amqp_url, topology, events, start_notifier):
    service, smtp = start_notifier()
    command = send_command()
    publish(amqp_url, topology, command)

    [sent] = events.wait_for("email.sent")
    [mail] = smtp.received
    expected_id = message_id_for("req-1", "invitation", "invitation-1", "invites.local")
    assert mail.rcpt_tos == [INVITEE]
    assert mail.message["Subject"] == render("invitation", CONTEXT).subject
    assert mail.message["Message-ID"] == expected_id
    assert sent.payload == {"request_id": "req-1", "template": "invitation", "send_key": "invitation-1", "smtp_message_id": expected_id}
    assert (sent.correlation_id, sent.causation_id, sent.producer) == ("req-1", command.message_id, "notifier")
    delivery = Delivery.get()
    assert (delivery.status, delivery.attempts, delivery.smtp_message_id) == ("sent", 1, expected_id)
    assert delivery.recipient_domain == "tech.gov.sg" and delivery.sent_at is not None


def test_the_same_command_delivered_twice_sends_one_email(amqp_url, topology, events, start_notifier):
    service, smtp = start_notifier()
    command = send_command()
    publish(amqp_url, topology, command, command)

    wait_for(lambda: service.consumers[bootstrap.QUEUE].stats.handled + service.consumers[bootstrap.QUEUE].stats.duplicates == 2, what="both deliveries")
    assert wait_until_published(service.outbox)
    assert len(smtp.received) == 1
    assert len(events.received("email.sent")) == 1


def test_a_send_asked_again_under_a_new_message_id_sends_no_second_email(amqp_url, topology, events, start_notifier):
    service, smtp = start_notifier()
    publish(amqp_url, topology, send_command())
    events.wait_for("email.sent")
    publish(amqp_url, topology, send_command())

    wait_for(lambda: service.consumers[bootstrap.QUEUE].stats.handled == 2, what="the second command")
    assert wait_until_published(service.outbox)
    assert len(smtp.received) == 1
    assert len(events.received("email.sent")) == 1
    assert Delivery.select().count() == 1


def test_a_temporary_smtp_refusal_is_retried_until_accepted_and_sends_one_email(amqp_url, topology, events, start_notifier):
    service, smtp = start_notifier(FlakyHandler(refusals=2))
    publish(amqp_url, topology, send_command())

    events.wait_for("email.sent")
    assert smtp.refused == 2 and service.consumers[bootstrap.QUEUE].stats.retried == 2
    assert len(smtp.received) == 1
    assert wait_until_published(service.outbox)
    assert len(events.received("email.sent")) == 1 and events.received("email.failed") == []
    assert Delivery.get().status == "sent"


def test_smtp_refusing_past_every_retry_announces_a_temporary_failure(amqp_url, topology, events, start_notifier):
    service, smtp = start_notifier(FlakyHandler(refusals=99))
    publish(amqp_url, topology, send_command())

    [failed] = events.wait_for("email.failed")
    assert failed.payload["permanent"] is False
    assert service.consumers[bootstrap.QUEUE].stats.retried == len(topology.retry_delays)
    assert smtp.refused == len(topology.retry_delays) + 1 and smtp.received == []
    wait_for(lambda: dead_letters(amqp_url, topology) == 1, what="the command in the dead-letter queue")


def test_a_refused_recipient_is_not_retried_and_announces_a_permanent_failure(amqp_url, topology, events, start_notifier, caplog):
    caplog.set_level(logging.INFO)
    service, smtp = start_notifier(RecordingHandler(rcpt_reply="550 5.1.1 <{address}>: Recipient address rejected"))
    command = send_command()
    publish(amqp_url, topology, command)

    [failed] = events.wait_for("email.failed")
    assert failed.payload["permanent"] is True and "550" in failed.payload["error"]
    assert (failed.correlation_id, failed.causation_id) == ("req-1", command.message_id)
    assert service.consumers[bootstrap.QUEUE].stats.retried == 0 and smtp.received == []
    wait_for(lambda: dead_letters(amqp_url, topology) == 1, what="the command in the dead-letter queue")
    delivery = Delivery.get()
    assert (delivery.status, delivery.smtp_message_id, delivery.recipient_domain) == ("failed", None, "tech.gov.sg")
    # the server echoed the address back; neither the log lines nor the stored error repeat it
    assert INVITEE not in failed.payload["error"] and INVITEE not in delivery.error
    ours = [r for r in caplog.records if r.name.startswith(("notifier", "invite_common"))]  # not the test server's
    lines = [JsonFormatter("notifier").format(r) for r in ours]
    assert any("giving up" in line for line in lines)
    assert not [line for line in lines if INVITEE in line]


def test_a_malformed_command_is_dead_lettered_while_the_next_good_one_is_sent(amqp_url, topology, events, start_notifier):
    service, smtp = start_notifier()
    exchange = topology.exchange_for_type("notifier.send_email").name
    garbage = Outgoing(message_id="bad-1", exchange=exchange, routing_key="notifier.send_email", body="{not json", correlation_id="x", type="notifier.send_email")
    publish(amqp_url, topology, garbage, send_command())

    events.wait_for("email.sent")
    assert len(smtp.received) == 1
    wait_for(lambda: dead_letters(amqp_url, topology) == 1, what="the malformed command in the dead-letter queue")


def test_an_unknown_template_announces_a_permanent_failure_and_sends_nothing(amqp_url, topology, events, start_notifier):
    service, smtp = start_notifier()
    publish(amqp_url, topology, send_command(template="welcome_pack"))

    [failed] = events.wait_for("email.failed")
    assert failed.payload["permanent"] is True and "welcome_pack" in failed.payload["error"]
    assert failed.payload["template"] == "welcome_pack"
    assert smtp.received == [] and service.consumers[bootstrap.QUEUE].stats.retried == 0
    assert Delivery.get().status == "failed"
    wait_for(lambda: dead_letters(amqp_url, topology) == 1, what="the command in the dead-letter queue")


def test_health_endpoints_report_readiness_and_prometheus_metrics(amqp_url, topology, events, start_notifier):
    service, smtp = start_notifier()
    base = f"http://{service.settings.bind}"
    # the counters belong to the process, which other tests share: compare with before
    before = scrape(f"{base}/metrics")
    publish(amqp_url, topology, send_command(), send_command(request_id="req-2", template="welcome_pack"))
    events.wait_for("email.sent"), events.wait_for("email.failed")

    with urllib.request.urlopen(f"{base}/readyz", timeout=5) as response:
        assert json.load(response) == {"ready": True, "checks": {"database": "ok", "broker": "ok"}}
    after = scrape(f"{base}/metrics")

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "invites_deliveries", status="sent") == 1
    assert value(after, "invites_deliveries", status="failed") == 1
    assert grew("invites_emails_sent_total", template="invitation") == 1
    assert grew("invites_emails_failed_total", template="other") == 1  # an unknown template's name is not a label
    queue = {"queue": bootstrap.QUEUE, "type": "notifier.send_email"}
    assert grew("invites_messages_handled_total", outcome="handled", **queue) == 1
    assert grew("invites_messages_handled_total", outcome="dead_lettered", **queue) == 1
    assert grew("invites_message_handler_duration_seconds_count", **queue) == 1
    # email.sent and email.failed went out through the outbox: published, none left waiting
    published = lambda: value(scrape(f"{base}/metrics"), "invites_outbox_published_total") - value(before, "invites_outbox_published_total")
    wait_for(lambda: published() >= 2, what="the relay's count")
    wait_for(lambda: value(scrape(f"{base}/metrics"), "invites_outbox_backlog") == 0, what="an empty outbox")
    assert value(scrape(f"{base}/metrics"), "invites_outbox_oldest_age_seconds") == 0
    assert "invites_outbox_oldest_age_seconds" in names(after)


def test_a_running_service_trims_its_message_log_in_the_background(start_notifier):
    # every service gets the hourly trim of its handled ids and published outbox rows (MESSAGE_LOG_DAYS)
    service, _ = start_notifier()
    assert "message-log-trim" in [t.name for t in service.threads if t.is_alive()]

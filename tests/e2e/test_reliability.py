"""Outages delay work and never lose it; duplicates and policy-breaking messages change nothing."""
import time

import pytest

from invite_common.broker import Outgoing, Publisher
from invite_common.messages import new_message
from invite_common.topology import Topology
from tests.support.system import RETRY_DELAYS, make_system
from tests.support.broker import wait_for

REQUESTER = "amy@tech.gov.sg"
APPROVER = "bob@tech.gov.sg"
AUDITOR = "carol@tech.gov.sg"


def email_invitation(email):
    return {"method": "email_invitation", "email": email, "seed_onboarding": False, "reason": "Joining the team"}


def test_request_accepted_while_the_broker_is_unreachable_flows_once_it_is_back(system_behind_proxy, broker_proxy, mailbox):
    system = system_behind_proxy
    broker_proxy.cut()
    response = system.call("POST", "/api/v1/invites", REQUESTER, json=email_invitation("nora@tech.gov.sg"))
    assert response.status_code == 201, response.text
    invite_id = response.json()["id"]
    assert system.call("POST", f"/api/v1/invites/{invite_id}/approve", APPROVER, json={}).status_code == 202
    time.sleep(1.0)
    assert system.invite(invite_id, AUDITOR)["state"] == "submitted"  # nothing could leave intake yet
    assert mailbox.messages == []

    broker_proxy.restore()
    system.wait_for_state(invite_id, "emailed", timeout=30)
    assert len(mailbox.to("nora@tech.gov.sg")) == 1


def test_smtp_refusing_temporarily_is_retried_and_one_email_arrives(system, mailbox):
    mailbox.refuse_next(2)
    system = system
    invite_id = system.call("POST", "/api/v1/invites", REQUESTER, json=email_invitation("omar@tech.gov.sg")).json()["id"]
    system.call("POST", f"/api/v1/invites/{invite_id}/approve", APPROVER, json={})
    system.wait_for_state(invite_id, "emailed", timeout=30)
    assert mailbox.refused == 2
    assert len(mailbox.to("omar@tech.gov.sg")) == 1


def test_mail_server_outage_delays_the_invitation_without_failing_it(system, mailbox):
    system = system
    mailbox.go_down()
    invite_id = system.call("POST", "/api/v1/invites", REQUESTER, json=email_invitation("una@tech.gov.sg")).json()["id"]
    system.call("POST", f"/api/v1/invites/{invite_id}/approve", APPROVER, json={})
    system.wait_for_state(invite_id, "account_created")
    # longer than all the retry delays together: an outage must not use them up
    time.sleep(sum(RETRY_DELAYS) + 2)
    assert system.invite(invite_id, AUDITOR)["state"] == "account_created"
    mailbox.come_back()
    system.wait_for_state(invite_id, "emailed", timeout=30)
    assert len(mailbox.to("una@tech.gov.sg")) == 1


def test_decision_message_sent_straight_to_approval_by_the_requester_is_refused(system, amqp_url, namespace, mailbox):
    system = system
    invite_id = system.call("POST", "/api/v1/invites", REQUESTER, json=email_invitation("pia@tech.gov.sg")).json()["id"]
    topology = Topology(namespace=namespace, retry_delays=RETRY_DELAYS)
    forged = new_message(
        "approval.decide",
        {"request_id": invite_id, "decision": "approve", "actor": REQUESTER, "comment": ""},
        correlation_id=invite_id,
        producer="intake",
    )
    publisher = Publisher(amqp_url, topology)
    # sent twice: a duplicate delivery must change nothing either
    publisher.publish([Outgoing.from_envelope(forged, topology), Outgoing.from_envelope(forged, topology)])
    publisher.close()
    wait_for(
        lambda: any(h["event"] == "decision_refused" for h in system.invite(invite_id, AUDITOR)["history"]),
        what="approval to refuse the forged decision",
    )
    after = system.invite(invite_id, AUDITOR)
    assert after["state"] == "submitted"
    assert [h["event"] for h in after["history"]].count("decision_refused") == 1
    assert "own request" in next(h for h in after["history"] if h["event"] == "decision_refused")["note"]
    time.sleep(0.5)
    assert mailbox.messages == []


def test_the_same_decision_delivered_twice_emails_once(system, amqp_url, namespace, mailbox):
    system = system
    invite_id = system.call("POST", "/api/v1/invites", REQUESTER, json=email_invitation("quinn@tech.gov.sg")).json()["id"]
    topology = Topology(namespace=namespace, retry_delays=RETRY_DELAYS)
    decision = new_message(
        "approval.decide",
        {"request_id": invite_id, "decision": "approve", "actor": APPROVER, "comment": "twice"},
        correlation_id=invite_id,
        producer="intake",
    )
    publisher = Publisher(amqp_url, topology)
    publisher.publish([Outgoing.from_envelope(decision, topology)] * 2)
    publisher.close()
    final = system.wait_for_state(invite_id, "emailed")
    time.sleep(1.0)
    assert len(mailbox.to("quinn@tech.gov.sg")) == 1
    assert [h["event"] for h in final["history"]].count("approve") == 1


@pytest.mark.both_databases("one sender per message holds by a row lock, which the two databases take differently")
def test_two_notifiers_given_the_same_send_command_at_once_send_one_email(request, tmp_path, amqp_url, namespace, mailbox, db_kind):
    # a command published twice (a relay that published, then crashed before marking it) reaches two
    # notifier processes at the same moment, while the mail server takes its time over each message
    system = make_system(request, tmp_path, amqp_url, namespace, mailbox, db_kind)
    system.start("notifier")
    second = system.start_replica("notifier", 2)
    system.wait_ready(second)
    mailbox.answer_slowly(1.0)
    topology = Topology(namespace=namespace, retry_delays=RETRY_DELAYS)
    command = new_message(
        "notifier.send_email",
        {"request_id": "req-twice", "template": "invitation", "to": "twice@tech.gov.sg", "send_key": "invitation-1",
         "context": {"request_id": "req-twice", "recipient_name": "Tan Mei Ling", "username": "meiling.tan",
                     "requester_email": "amy@tech.gov.sg", "activation_url": "https://techpass.example.gov.sg/activate"}},
        correlation_id="req-twice",
        producer="approval",
    )
    publisher = Publisher(amqp_url, topology)
    publisher.publish([Outgoing.from_envelope(command, topology)] * 2)
    publisher.close()
    wait_for(lambda: mailbox.to("twice@tech.gov.sg"), timeout=15, what="the invitation")
    time.sleep(3.0)  # both copies have been handled (the second waits out a retry delay or two)
    assert len(mailbox.to("twice@tech.gov.sg")) == 1

"""The three services, each as its own broker user (INTAKE_/APPROVAL_/NOTIFIER_AMQP_URL) on a vhost
loaded from the shipped definitions: a request goes all the way, and forged messages change nothing and send nothing."""
from __future__ import annotations

import dataclasses
import time

import pytest

from invite_common.broker import Outgoing, Publisher, PublishError
from invite_common.messages import new_message
from invite_common.topology import Topology
from tests.support.system import RunningSystem, system_env
from tests.support.broker import wait_for

REQUESTER, APPROVER = "amy@tech.gov.sg", "bob@tech.gov.sg"


@pytest.fixture
def own_users_system(request, tmp_path, broker_vhost, mailbox):
    env = system_env(
        # AMQP_URL is a user without rights: a service that fell back to it could not work
        amqp_url=broker_vhost.nobody, namespace="", smtp_url=mailbox.url, var_dir=tmp_path / "var",
        db_urls={s: f"sqlite:///{tmp_path / (s + '.db')}" for s in ("intake", "approval", "notifier")},
        INTAKE_AMQP_URL=broker_vhost.urls["intake"], APPROVAL_AMQP_URL=broker_vhost.urls["approval"],
        NOTIFIER_AMQP_URL=broker_vhost.urls["notifier"],
    )
    system = RunningSystem(env=env, logs=tmp_path)
    request.addfinalizer(system.stop)
    system.start()
    return system


def forge(url: str, sender: str, type_name: str, payload: dict, exchange: str) -> bool:
    """Publish a well-formed message as `sender`'s user; True if the broker took it."""
    envelope = new_message(type_name, payload, correlation_id=payload["request_id"], producer="approval")
    publisher = Publisher(url, Topology(service=sender), confirm_timeout=5)
    try:
        message = dataclasses.replace(Outgoing.from_envelope(envelope, Topology()), exchange=exchange)
        return bool(publisher.publish([message]))
    except PublishError:
        return False
    finally:
        publisher.close()


def test_services_as_their_own_users_carry_a_request_through_and_refuse_forgeries(own_users_system, broker_vhost, mailbox):
    system = own_users_system
    submit = lambda email: system.call("POST", "/api/v1/invites", REQUESTER, json={  # noqa: E731
        "method": "email_invitation", "email": email, "seed_onboarding": False, "reason": "Joining"}).json()
    sent = submit("jane.tan@tech.gov.sg")
    assert system.call("POST", f"/api/v1/invites/{sent['id']}/approve", APPROVER, json={}).status_code == 202
    system.wait_for_state(sent["id"], "emailed")
    wait_for(lambda: mailbox.to("jane.tan@tech.gov.sg"), what="the invitation")

    pending = submit("li.wei@tech.gov.sg")
    history_before = system.invite(pending["id"], REQUESTER)["history"]
    urls = broker_vhost.urls
    decision = {"request_id": pending["id"], "decision": "approve", "actor": "mallory@tech.gov.sg"}
    email = {"request_id": pending["id"], "template": "invitation", "to": "victim@example.com", "send_key": "x",
             "context": {"activation_url": "https://evil.example"}}
    state = {"request_id": pending["id"], "seq": 99, "from_state": "submitted", "to_state": "approved",
             "verb": "approve", "actor": "mallory@tech.gov.sg", "changed_at": "2020-01-01T00:00:00+00:00"}
    forgeries = [
        (urls["notifier"], "notifier", "approval.decide", decision, "approval.commands"),
        (urls["approval"], "approval", "approval.decide", decision, "approval.commands"),
        (broker_vhost.nobody, "intake", "approval.decide", decision, "approval.commands"),
        (urls["intake"], "intake", "notifier.send_email", email, "notifier.commands"),
        (urls["notifier"], "notifier", "notifier.send_email", email, "notifier.commands"),
        (urls["intake"], "intake", "invite.state_changed", state, "approval.events"),
        (urls["notifier"], "notifier", "invite.state_changed", state, "approval.events"),
    ]
    for url, sender, type_name, payload, exchange in forgeries:
        assert not forge(url, sender, type_name, payload, exchange), (sender, type_name)

    time.sleep(1.5)  # long enough for anything that got through to be consumed
    after = system.invite(pending["id"], REQUESTER)
    # the history's chain is linked in the background, so an entry's hash may appear meanwhile
    unlinked = lambda history: [{k: v for k, v in e.items() if k != "hash"} for e in history]  # noqa: E731
    assert after["state"] == "submitted" and unlinked(after["history"]) == unlinked(history_before)
    assert mailbox.to("victim@example.com") == []
    assert len(mailbox.to("jane.tan@tech.gov.sg")) == 1
    for name in system.procs:
        assert system.procs[name].poll() is None, system.log(name)[-2000:]

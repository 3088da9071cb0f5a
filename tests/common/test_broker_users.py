"""Only the right service speaks: one broker user per service, with the shipped definitions loaded into a real vhost.

The vhost and its users are made for this test run with `rabbitmqctl import_definitions` (the
management plugin is not assumed), then deleted. Forged messages, sent with another service's
user or with a user without rights, are refused by the broker and reach no queue; the rightful
sender's messages arrive. tests/e2e/test_broker_users.py runs the services themselves as these users.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from invite_common.broker import Outgoing, Publisher, PublishError
from invite_common.broker_users import definitions
from invite_common.messages import MESSAGE_TYPES
from invite_common.topology import SERVICES, Topology, exchange_for

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq" / "definitions.json"
# the message each forgery imitates, and the queue it would reach
FORGERIES = {
    "approval.decide": "approval.workflow",
    "notifier.send_email": "notifier.send-email",
    "invite.state_changed": "intake.history",
}


def outgoing(type_name: str, topology: Topology = Topology(), *, exchange: str | None = None) -> Outgoing:
    contract = next(c for c in MESSAGE_TYPES.values() if c.name == type_name)
    return Outgoing(
        message_id=str(uuid.uuid4()), exchange=exchange or topology.name(exchange_for(contract)),
        routing_key=type_name, body=json.dumps({"type": type_name, "forged": True}), correlation_id="r1", type=type_name,
    )


def send(url: str, service: str, message: Outgoing) -> set[str]:
    """Publish with the services' own publisher (confirms, mandatory), as `service` would; the ids confirmed."""
    publisher = Publisher(url, Topology(service=service), confirm_timeout=5)
    try:
        return publisher.publish([message])
    except PublishError:
        return set()
    finally:
        publisher.close()


def test_the_shipped_definitions_are_what_the_topology_and_the_contracts_give():
    assert json.loads(SHIPPED.read_text()) == definitions(Topology(quorum=True))
    users = {u["name"] for u in json.loads(SHIPPED.read_text())["users"]}
    assert users == {"intake", "approval", "notifier"}
    assert all(u["password_hash"] == "" for u in json.loads(SHIPPED.read_text())["users"])


@pytest.mark.parametrize("type_name", sorted({c.name for c in MESSAGE_TYPES.values()}))
def test_each_service_sends_its_own_messages_with_its_own_user(broker_vhost, type_name):
    contract = next(c for c in MESSAGE_TYPES.values() if c.name == type_name)
    message = outgoing(type_name)
    assert send(broker_vhost.urls[contract.publisher], contract.publisher, message) == {message.message_id}


@pytest.mark.parametrize("type_name,queue", sorted(FORGERIES.items()))
@pytest.mark.parametrize("sender", [*SERVICES, "nobody"])
def test_a_forged_message_from_the_wrong_user_reaches_no_queue(broker_vhost, type_name, queue, sender):
    rightful = next(c.publisher for c in MESSAGE_TYPES.values() if c.name == type_name)
    if sender == rightful:
        pytest.skip("the rightful sender is the previous test")
    broker_vhost.purge(queue)
    url = broker_vhost.nobody if sender == "nobody" else broker_vhost.urls[sender]
    attempts = [outgoing(type_name)]
    if sender != "nobody":
        # the same type on the sender's own events exchange, and straight into the queue
        attempts.append(outgoing(type_name, exchange=f"{sender}.events"))
        attempts.append(outgoing(type_name, exchange=""))
        attempts[-1] = Outgoing(**{**attempts[-1].__dict__, "routing_key": queue})
    for message in attempts:
        assert send(url, sender if sender != "nobody" else "intake", message) == set()
    assert broker_vhost.depth(queue) == 0


def test_a_service_cannot_reach_another_services_retry_path(broker_vhost):
    broker_vhost.purge("approval.workflow")
    retry = Topology().retry_queue_name("approval.workflow", 1.0)
    forged = Outgoing(**{**outgoing("approval.decide").__dict__, "exchange": "approval.retry", "routing_key": retry})
    assert send(broker_vhost.urls["intake"], "intake", forged) == set()
    assert broker_vhost.depth(retry) == 0


"""A node that goes silent rather than away: its process frozen (SIGSTOP), as a powered-off machine
or a network partition leaves it, with no socket closed. A consumer connected to it must notice by
the missed heartbeats and consume from the next node listed, in well under TCP keepalive's two and
a half minutes; a publisher must publish through the next node too.

Two nodes of the test's own, not clustered: the consumer declares its queue wherever it connects."""
from __future__ import annotations

import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from invite_common import broker
from invite_common.broker import Outgoing, Publisher
from invite_common.consumer import MessageConsumer, start_consumer_thread
from invite_common.db import connect as connect_database
from invite_common.messages import new_message
from invite_common.topology import Topology
from tests.support.broker import wait_for
from tests.support.rabbitmq_node import RabbitNode, why_not_available

QUEUE = "intake.history"
TYPE = "invite.decision_refused"
# two missed beats, a connect timeout spent on the frozen node, the restart's pause, and load
NOTICED_WITHIN = 2 * broker.HEARTBEAT_SECONDS + 5 + 15

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def two_nodes():
    why_not = why_not_available()
    if why_not:
        pytest.skip(why_not)
    password, run = secrets.token_hex(16), uuid.uuid4().hex[:6]
    nodes = [RabbitNode(f"silent{n}-{run}", admin_password=password) for n in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda node: node.start(timeout=120), nodes))
        yield nodes
    finally:
        for node in nodes:
            node.stop()


def refused(request_id: str):
    return new_message(TYPE, {"request_id": request_id, "decision": "approve", "actor": "b@gov.sg", "error": "not pending"},
                       correlation_id=request_id, producer="approval")


def test_a_consumer_and_a_publisher_leave_a_frozen_node_for_the_next(two_nodes, db_url):
    first, second = two_nodes
    url = f"{first.admin_url()};{second.admin_url()}"
    topology = Topology(namespace=f"s{uuid.uuid4().hex[:8]}")
    database = connect_database(db_url)
    seen: list[str] = []
    consumer = MessageConsumer(queue=QUEUE, handlers={TYPE: lambda e: seen.append(e.payload["request_id"])},
                               amqp_url=url, topology=topology, database=database)
    database.create_tables([consumer.handled_model])
    thread = start_consumer_thread(consumer)
    publisher = Publisher(url, topology)
    try:
        assert consumer.ready.wait(30)
        publisher.publish([Outgoing.from_envelope(refused("before"), topology)])
        wait_for(lambda: seen == ["before"], 15, what="the first node's message consumed")

        frozen_at = time.monotonic()
        first.freeze()
        wait_for(lambda: not consumer.ready.is_set(), NOTICED_WITHIN, interval=0.2,
                 what="the consumer to notice the frozen node")
        noticed = time.monotonic() - frozen_at
        assert consumer.ready.wait(NOTICED_WITHIN), "the consumer never reached the second node"
        consuming = time.monotonic() - frozen_at

        # the publisher, idle on the frozen node until now, drops it as the relay's beat would and
        # publishes through the second node; the consumer, there now, takes it
        deadline = time.monotonic() + NOTICED_WITHIN
        sent: set[str] = set()
        envelope = refused("after")
        while not sent and time.monotonic() < deadline:
            publisher.heartbeat()
            try:
                sent = publisher.publish([Outgoing.from_envelope(envelope, topology)])
            except broker.PublishError:
                time.sleep(0.5)
        assert sent == {envelope.message_id}
        published = time.monotonic() - frozen_at
        wait_for(lambda: seen == ["before", "after"], 15, what="the second node's message consumed")
        print(f"\nfrozen node: the consumer noticed after {noticed:.1f} s, consumed from the next node after "
              f"{consuming:.1f} s; the publisher published through it after {published:.1f} s")
    finally:
        consumer.stop()
        thread.join(15)
        publisher.close()

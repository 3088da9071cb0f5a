"""A broker URL listing a cluster's nodes (`;`-separated): the publisher, the consumers and the
readiness check each use the node that answers when the first one listed is away, without a
restart. Against the real broker, with the first node a port where nothing listens."""
from __future__ import annotations

import threading
import time

import peewee
import pytest

from invite_common.broker import Outgoing, Publisher
from invite_common.consumer import MessageConsumer, start_consumer_thread
from invite_common.health import BrokerNotConsuming, broker_check
from invite_common.messages import new_message
from tests.support.broker import queue_depth, wait_for
from tests.support.ports import free_port

QUEUE = "intake.history"
TYPE = "invite.decision_refused"


def away() -> str:
    """A node that is away: nothing listens on its port."""
    return f"amqp://guest:guest@127.0.0.1:{free_port()}//"


def refused(request_id: str):
    return new_message(TYPE, {"request_id": request_id, "decision": "approve", "actor": "b@gov.sg", "error": "not pending"},
                       correlation_id=request_id, producer="approval")


def test_the_publisher_is_confirmed_through_the_next_node_when_the_first_is_away(amqp_url, topology):
    publisher = Publisher(f"{away()};{amqp_url}", topology)
    try:
        envelope = refused("r-1")
        assert publisher.publish([Outgoing.from_envelope(envelope, topology)]) == {envelope.message_id}
    finally:
        publisher.close()
    assert queue_depth(amqp_url, topology.queue(QUEUE).name) == 1


def test_a_consumer_consumes_from_the_next_node_and_says_it_is_ready(amqp_url, topology, tmp_path):
    database = peewee.SqliteDatabase(str(tmp_path / "consumer.db"))
    seen = []
    consumer = MessageConsumer(queue=QUEUE, handlers={TYPE: lambda e: seen.append(e.payload["request_id"])},
                               amqp_url=f"{away()};{away()};{amqp_url}", topology=topology, database=database)
    database.create_tables([consumer.handled_model])
    thread = start_consumer_thread(consumer)
    try:
        assert consumer.ready.wait(15), "the consumer never reached the node that answers"
        broker_check(f"{away()};{amqp_url}", [consumer])()
        publisher = Publisher(amqp_url, topology)
        publisher.publish([Outgoing.from_envelope(refused("r-2"), topology)])
        publisher.close()
        wait_for(lambda: seen == ["r-2"], 10, what="the message consumed")
    finally:
        consumer.stop()
        thread.join(10)
    assert not consumer.ready.is_set(), "a consumer that stopped consuming still says it is ready"


def test_readiness_passes_with_one_node_away_and_fails_with_every_node_away(amqp_url):
    broker_check(f"{away()};{amqp_url}")()
    broker_check(f"{amqp_url};{away()}")()
    with pytest.raises(Exception):
        broker_check(f"{away()};{away()}")()


@pytest.mark.unit
def test_readiness_fails_naming_the_queue_while_a_consumer_is_not_consuming():
    class Idle:
        queue_name = "approval.commands"
        ready = threading.Event()

    with pytest.raises(BrokerNotConsuming, match="not consuming from approval.commands"):
        broker_check(away(), [Idle()])()


def test_an_idle_publisher_keeps_its_connection_by_its_heartbeats(amqp_url, topology, monkeypatch):
    """The broker's beats are read and answered between batches: an idle outbox relay's connection
    is neither closed by the broker nor dropped as silent (the heartbeat made short for the test)."""
    from invite_common import broker

    monkeypatch.setattr(broker, "HEARTBEAT_SECONDS", 1)
    publisher = Publisher(amqp_url, topology)
    try:
        publisher.open()
        kept = publisher._conn
        for _ in range(16):  # four heartbeat timeouts, beating as the relay does between batches
            time.sleep(0.25)
            publisher.heartbeat()
        assert publisher._conn is kept and kept.connected
        envelope = refused("r-3")
        assert publisher.publish([Outgoing.from_envelope(envelope, topology)]) == {envelope.message_id}
        assert publisher._conn is kept
    finally:
        publisher.close()

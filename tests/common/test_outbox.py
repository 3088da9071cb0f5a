"""The outbox stores messages with the change and the relay publishes them, confirmed, in batches."""
import pytest

from invite_common.broker import Publisher
from invite_common.db import connect
from invite_common.messages import decode, new_message
from invite_common.outbox import Outbox, OutboxRelay
from tests.support.broker import drain, queue_depth, wait_for
from tests.support.outbox import wait_until_published

pytestmark = pytest.mark.both_databases("the outbox is claimed by row locks (SKIP LOCKED on PostgreSQL)")


def cancelled(n: int):
    return new_message("invite.cancelled", {"request_id": f"r{n}", "actor": "a@gov.sg"}, correlation_id=f"r{n}", producer="intake")


def test_message_written_in_a_rolled_back_transaction_is_never_published(peewee_db, topology, amqp_url):
    outbox = Outbox(peewee_db, topology)
    peewee_db.create_tables([outbox.model])
    with pytest.raises(RuntimeError):
        with peewee_db.atomic():
            outbox.add(cancelled(1))
            raise RuntimeError("the change failed")
    assert outbox.pending_count() == 0


def test_relay_publishes_pending_messages_in_order_and_marks_them_sent(peewee_db, topology, amqp_url):
    outbox = Outbox(peewee_db, topology)
    peewee_db.create_tables([outbox.model])
    with peewee_db.atomic():
        for n in range(250):
            outbox.add(cancelled(n))
    publisher = Publisher(amqp_url, topology)
    assert outbox.relay_once(publisher) == 200
    assert outbox.relay_once(publisher) == 50
    assert outbox.pending_count() == 0
    publisher.close()
    bodies = [decode(m.body) for m in drain(amqp_url, topology.name("approval.workflow"))]
    assert [b.payload["request_id"] for b in bodies] == [f"r{n}" for n in range(250)]


def test_messages_wait_while_the_broker_is_unreachable_then_flow(peewee_db, topology, amqp_url):
    outbox = Outbox(peewee_db, topology)
    peewee_db.create_tables([outbox.model])
    with peewee_db.atomic():
        outbox.add(cancelled(1))
    down = OutboxRelay(outbox, "amqp://guest:guest@127.0.0.1:1//", poll_interval=0.05, max_backoff=0.1)
    down.start()
    wait_for(lambda: not down.healthy, what="relay to notice the broker is away")
    assert outbox.pending_count() == 1
    down.stop()
    down.join(5)
    relay = OutboxRelay(outbox, amqp_url, poll_interval=0.05)
    relay.start()
    assert wait_until_published(outbox, timeout=10)
    relay.stop()
    relay.join(5)
    assert queue_depth(amqp_url, topology.name("approval.workflow")) == 1


def test_two_relays_on_one_database_never_publish_a_message_twice(db_url, topology, amqp_url):
    import threading

    # two processes of one service: each has its own connection and relay on the shared database
    first, second = connect(db_url), connect(db_url)
    outboxes = [Outbox(first, topology), Outbox(second, topology)]
    first.create_tables([outboxes[0].model])
    with first.atomic():
        for n in range(300):
            outboxes[0].add(cancelled(n))
    published = [0, 0]

    def relay(k: int) -> None:
        publisher = Publisher(amqp_url, topology)
        while outboxes[k].relay_once(publisher, limit=20):
            published[k] += 1
        publisher.close()

    threads = [threading.Thread(target=relay, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    bodies = [decode(m.body) for m in drain(amqp_url, topology.name("approval.workflow"))]
    ids = [b.message_id for b in bodies]
    assert len(ids) == 300 and len(set(ids)) == 300
    assert outboxes[0].pending_count() == 0
    first.close(), second.close()


def test_relays_of_two_replicas_publish_each_message_once(postgres_admin_url, topology, amqp_url):
    """Each replica runs a relay over the same PostgreSQL outbox; they share the rows, not repeat them."""
    from tests.support import backing

    url = backing.create_postgres_database(postgres_admin_url)
    first, second = connect(url), connect(url)
    try:
        outboxes = [Outbox(first, topology), Outbox(second, topology)]
        first.create_tables([outboxes[0].model])
        with first.atomic():
            for n in range(600):
                outboxes[0].add(cancelled(n))
        relays = [OutboxRelay(o, amqp_url, poll_interval=0.02) for o in outboxes]
        for relay in relays:
            relay.start()
        assert wait_until_published(outboxes[0], timeout=20)
        for relay in relays:
            relay.stop()
            relay.join(5)
        assert all(relay.published > 0 for relay in relays), [r.published for r in relays]
        assert sum(relay.published for relay in relays) == 600
        ids = [decode(m.body).payload["request_id"] for m in drain(amqp_url, topology.name("approval.workflow"))]
        assert sorted(ids) == sorted(f"r{n}" for n in range(600))
    finally:
        first.close()
        second.close()
        backing.drop_postgres_database(postgres_admin_url, url)

"""The consumer base against the real broker: idempotent, ack after commit, retries, dead-letters."""
import peewee
import pytest

from invite_common.broker import Outgoing, Publisher
from invite_common.consumer import MessageConsumer, start_consumer_thread
from invite_common.errors import PermanentError, TransientError
from invite_common.messages import new_message
from tests.support.broker import drain, queue_depth, wait_for

pytestmark = pytest.mark.both_databases("idempotency rests on a unique constraint and the ack on the commit")

QUEUE = "intake.history"


def make_effect_table(peewee_db):
    class Effect(peewee.Model):
        request_id = peewee.CharField()

        class Meta:
            peewee_db = None

    Effect._meta.set_database(peewee_db)
    peewee_db.create_tables([Effect])
    return Effect


def refused(request_id: str):
    return new_message(
        "invite.decision_refused",
        {"request_id": request_id, "decision": "approve", "actor": "b@gov.sg", "error": "not pending"},
        correlation_id=request_id,
        producer="approval",
    )


def run_consumer(amqp_url, topology, peewee_db, handler, on_give_up=None):
    consumer = MessageConsumer(
        queue=QUEUE,
        handlers={"invite.decision_refused": handler},
        amqp_url=amqp_url,
        topology=topology,
        database=peewee_db,
        on_give_up=on_give_up,
    )
    peewee_db.create_tables([consumer.handled_model])
    thread = start_consumer_thread(consumer)
    assert consumer.ready.wait(10)
    return consumer, thread


def stop(consumer, thread):
    consumer.stop()
    thread.join(10)


def publish(amqp_url, topology, *envelopes):
    publisher = Publisher(amqp_url, topology)
    publisher.publish([Outgoing.from_envelope(e, topology) for e in envelopes])
    publisher.close()


def test_the_same_message_delivered_twice_changes_nothing_the_second_time(amqp_url, topology, peewee_db):
    Effect = make_effect_table(peewee_db)
    consumer, thread = run_consumer(amqp_url, topology, peewee_db, lambda env: Effect.create(request_id=env.payload["request_id"]))
    message = refused("r1")
    publish(amqp_url, topology, message, message)
    wait_for(lambda: consumer.stats.handled + consumer.stats.duplicates == 2, what="both deliveries")
    stop(consumer, thread)
    assert Effect.select().count() == 1
    assert consumer.stats.duplicates == 1


def test_malformed_message_is_dead_lettered_while_the_next_good_one_is_processed(amqp_url, topology, peewee_db):
    Effect = make_effect_table(peewee_db)
    consumer, thread = run_consumer(amqp_url, topology, peewee_db, lambda env: Effect.create(request_id=env.payload["request_id"]))
    exchange = topology.exchange_for_type("invite.decision_refused").name
    bad = Outgoing(message_id="bad-1", exchange=exchange, routing_key="invite.decision_refused", body="{not json", correlation_id="x", type="invite.decision_refused")
    wrong_payload = refused("r9").__class__(**{**refused("r9").__dict__, "payload": {"request_id": "r9"}})
    publisher = Publisher(amqp_url, topology)
    publisher.publish([bad, Outgoing.from_envelope(wrong_payload, topology), Outgoing.from_envelope(refused("r2"), topology)])
    publisher.close()
    wait_for(lambda: consumer.stats.handled == 1, what="the good message")
    stop(consumer, thread)
    assert [e.request_id for e in Effect.select()] == ["r2"]
    dead = drain(amqp_url, topology.name(QUEUE) + ".dlq")
    assert len(dead) == 2


def test_transient_failure_is_retried_with_backoff_and_then_succeeds(amqp_url, topology, peewee_db):
    Effect = make_effect_table(peewee_db)
    calls = []

    def flaky(env):
        calls.append(env.message_id)
        if len(calls) < 3:
            raise TransientError("directory timed out")
        Effect.create(request_id=env.payload["request_id"])

    consumer, thread = run_consumer(amqp_url, topology, peewee_db, flaky)
    publish(amqp_url, topology, refused("r1"))
    wait_for(lambda: consumer.stats.handled == 1, what="success after retries")
    stop(consumer, thread)
    assert len(calls) == 3 and consumer.stats.retried == 2
    assert Effect.select().count() == 1


def test_retries_are_bounded_and_the_failure_is_recorded_before_dead_lettering(amqp_url, topology, peewee_db):
    Effect = make_effect_table(peewee_db)
    given_up = []

    def always_down(env):
        Effect.create(request_id="half-done")  # rolled back with each failed attempt
        raise TransientError("still down")

    def on_give_up(env, exc):
        given_up.append((env.payload["request_id"], str(exc)))
        Effect.create(request_id="failure-recorded")

    consumer, thread = run_consumer(amqp_url, topology, peewee_db, always_down, on_give_up)
    publish(amqp_url, topology, refused("r1"))
    wait_for(lambda: consumer.stats.dead_lettered == 1, what="giving up")
    stop(consumer, thread)
    assert consumer.stats.retried == len(topology.retry_delays)
    assert given_up == [("r1", "still down")]
    assert [e.request_id for e in Effect.select()] == ["failure-recorded"]
    assert queue_depth(amqp_url, topology.name(QUEUE) + ".dlq") == 1


def test_permanent_error_is_dead_lettered_without_retry(amqp_url, topology, peewee_db):
    make_effect_table(peewee_db)

    def refuses(env):
        raise PermanentError("can never work")

    consumer, thread = run_consumer(amqp_url, topology, peewee_db, refuses)
    publish(amqp_url, topology, refused("r1"))
    wait_for(lambda: consumer.stats.dead_lettered == 1, what="dead-lettering")
    stop(consumer, thread)
    assert consumer.stats.retried == 0

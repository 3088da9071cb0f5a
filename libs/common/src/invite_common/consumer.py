"""The consumer base: decode, dispatch, commit, then ack; idempotent, retried, dead-lettered.

- Each handled `message_id` is recorded in the same transaction as the handler's effect, so a
  redelivered or duplicated message changes nothing.
- The ack follows the commit; a crash in between only causes a redelivery, which is a no-op.
- A message that can never succeed (malformed, unknown type, PermanentError) is given up: the
  service's `on_give_up` records the failure, then the message is rejected into `<queue>.dlq`.
- A consumer built with `check_source` refuses (dead-letters) a message whose envelope does not
  name its type's publisher or that did not arrive through that publisher's exchange; only the
  consumer's own delay queues may hand a message back through the default exchange, and broker
  permissions let only the consuming service write to its queues.
- A TransientError (SMTP 4xx, directory timeout) is retried through the delay queues, one per
  configured delay, then given up. The database or a server being unreachable (Outage) is not
  the message's fault: such messages wait and retry until it is back, never dead-lettered for it.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable

import peewee
from kombu.mixins import ConsumerMixin
from marshmallow import ValidationError

from invite_common import metrics
from invite_common.broker import Publisher, PublishError, connection
from invite_common.errors import Outage, PermanentError, TransientError
from invite_common.logs import request_context
from invite_common.db import UTCDateTimeField, utcnow
from invite_common.messages import Envelope, UnknownMessageType, decode, message_type
from invite_common.outbox import Outbox
from invite_common.statements import Statements
from invite_common.topology import Topology, TopologyMismatch

log = logging.getLogger(__name__)

Handler = Callable[[Envelope], None]


class TwoPhaseHandler:
    """A handler whose slow outside work (an SMTP send) must not hold a database transaction.

    `prepare(envelope)` runs first, outside any transaction, and must itself be safe to repeat;
    `commit(envelope, prepared)` then records its outcome inside the consumer's transaction;
    `finish(envelope, prepared)`, when given, runs once that transaction has ended, committed or
    not (to let go of what `prepare` held until its outcome was recorded).
    """

    def __init__(self, prepare: Callable[[Envelope], object], commit: Callable[[Envelope, object], None],
                 finish: Callable[[Envelope, object], None] | None = None):
        self.prepare = prepare
        self.commit = commit
        self.finish = finish


GiveUp = Callable[[Envelope, Exception], None]


class UntrustedSource(PermanentError):
    """A message that did not come from the service its type says publishes it."""


def check_source(envelope: Envelope, exchange: str, topology: Topology) -> None:
    """Refuse `envelope` unless its type's publisher sent it through that publisher's exchange.

    The default exchange ("") is how this consumer's delay queues return a retried message,
    which was checked on its first delivery."""
    contract = message_type(envelope.type, envelope.version)
    if envelope.producer != contract.publisher:
        raise UntrustedSource(f"{envelope.type} names producer {envelope.producer!r}, not {contract.publisher!r}")
    expected = topology.exchange_for_type(envelope.type, envelope.version).name
    if exchange not in ("", expected):
        raise UntrustedSource(f"{envelope.type} arrived through {exchange!r}, not {expected!r}")

ATTEMPT_HEADER = "x-attempt"
# the type label of a message whose body could not be read at all
UNREADABLE = "<unreadable>"


def handled_message_model(database) -> type[peewee.Model]:
    """Return the table of message ids a service's consumers have handled."""

    class HandledMessage(peewee.Model):
        consumer = peewee.CharField(max_length=100)
        message_id = peewee.CharField(max_length=36)
        handled_at = UTCDateTimeField(default=utcnow)

        class Meta:
            table_name = "handled_message"
            primary_key = peewee.CompositeKey("consumer", "message_id")

    HandledMessage._meta.set_database(database)
    return HandledMessage


class ConsumerStats:
    """A consumer's counts by outcome, also counted into the process's Prometheus metrics."""

    _ATTRIBUTES = {"handled": "handled", "duplicate": "duplicates", "retried": "retried", "dead_lettered": "dead_lettered"}

    def __init__(self, queue: str = "") -> None:
        self.queue = queue
        self.handled = 0
        self.duplicates = 0
        self.retried = 0
        self.dead_lettered = 0

    def record(self, type_name: str, outcome: str, started: float | None = None) -> None:
        """Count one message's outcome (and, when it ran, its handler's time since `started`)."""
        attribute = self._ATTRIBUTES.get(outcome)
        if attribute is not None:
            setattr(self, attribute, getattr(self, attribute) + 1)
        metrics.observe_message(self.queue, type_name, outcome, started)


class Stopping(Exception):
    """Raised out of a reconnection wait once the consumer has been told to stop."""


class MessageConsumer(ConsumerMixin):
    """Consumes one work queue of the topology and hands each message type to its handler."""

    def __init__(
        self,
        *,
        queue: str,
        handlers: dict[str, Handler | TwoPhaseHandler],
        amqp_url: str,
        topology: Topology,
        database,
        outbox: Outbox | None = None,
        on_give_up: GiveUp | None = None,
        prefetch: int = 50,
        db_retry_delay: float = 2.0,
        check_source: bool = False,
    ):
        self.queue_name = queue
        self.handlers = handlers
        self.topology = topology
        self.database = database
        self.outbox = outbox
        self.on_give_up = on_give_up
        self.prefetch = prefetch
        self.db_retry_delay = db_retry_delay
        self.check_source = check_source
        self.connection = connection(amqp_url)
        self.retry_publisher = Publisher(amqp_url, topology)
        self.handled_model = handled_message_model(database)
        self.handled = Statements(self.handled_model)
        self.stats = ConsumerStats(queue)
        self.ready = threading.Event()
        self._lost_at: float | None = None  # when consuming last ended other than by a stop
        # told when the consumer meets what no retry mends (its queue declared differently on the broker)
        self.on_fatal: Callable[[Exception], None] | None = None

    # How long kombu waits for a delivery before looking at `should_stop` again (its default is
    # 1 s): a stopping service, a rolling restart or a test system, waits at most this long.
    safety_interval = 0.25

    # kombu wiring -------------------------------------------------------------------------
    def get_consumers(self, Consumer, channel):
        self.topology.declare(channel)
        # prefetch goes to the constructor: qos() after consuming started is silently ignored
        return [
            Consumer(
                queues=[self.topology.queue(self.queue_name)],
                on_message=self.on_message,
                prefetch_count=self.prefetch,
            )
        ]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        # this thread's database connection, opened now rather than by the first message
        try:
            self.database.connect(reuse_if_open=True)
        except (peewee.OperationalError, peewee.InterfaceError):
            pass  # the first message meets the outage and waits for it like any other
        self.ready.set()
        if self._lost_at is not None:
            # the other half of "connection lost": how long the queue went unread, for whoever reads the log
            log.warning("consuming again", extra={"queue": self.queue_name, "host": connection.host,
                                                  "after_seconds": round(time.monotonic() - self._lost_at, 2)})
            self._lost_at = None

    def consume(self, *args, **kwargs):
        # however consuming ends (a node of the cluster stopping, say), this consumer is not ready
        # until it consumes again, on this node or the next
        try:
            yield from super().consume(*args, **kwargs)
        finally:
            self.ready.clear()
            if not self.should_stop:
                self._lost_at = time.monotonic()

    def on_iteration(self) -> None:
        # kombu calls this between deliveries and at least every safety_interval: the retry
        # publisher's connection, idle but for retries, beats here
        self.retry_publisher.heartbeat()

    def on_connection_error(self, exc, interval):
        self.ready.clear()
        log.warning("broker connection lost, reconnecting", extra={"error": str(exc), "in_seconds": interval})

    def stop(self) -> None:
        self.should_stop = True

    def run(self, **kwargs) -> None:
        """Consume until stopped, reconnecting by itself; a stop ends even a wait for the broker."""
        try:
            super().run(**kwargs)
        except Stopping:
            pass
        except TopologyMismatch as exc:
            log.error("consumer stopped", extra={"queue": self.queue_name, "error": str(exc)})
            if self.on_fatal is not None:
                self.on_fatal(exc)

    @contextmanager
    def establish_connection(self):
        # kombu's own waits between attempts (up to 30 s) would hold a stopping service: it calls
        # back every second, and a stop ends the wait there
        conn = self.create_connection()
        try:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries, callback=self._unless_stopping)
            yield conn
        except BaseException:
            # the connection failed (a node gone silent: missed heartbeats): closing it politely waits
            # for an answer that may never come, so drop it without a word and go to the next node
            conn.collect()
            raise
        else:
            conn.release()

    def _unless_stopping(self) -> None:
        if self.should_stop:
            raise Stopping()

    # message handling ---------------------------------------------------------------------
    def on_message(self, message) -> None:
        headers = message.headers or {}
        attempt = int(headers.get(ATTEMPT_HEADER, 0) or 0)
        try:
            envelope = decode(message.body)
            handler = self.handlers.get(envelope.type)
            if handler is None:
                raise UnknownMessageType(f"{self.queue_name} has no handler for {envelope.type}")
            if self.check_source:
                check_source(envelope, (message.delivery_info or {}).get("exchange", ""), self.topology)
        except PermanentError as exc:
            log.error("dead-lettering a message that cannot be read", extra={"queue": self.queue_name, "error": str(exc)})
            self.stats.record(UNREADABLE, "dead_lettered")
            message.reject()
            return
        with request_context(envelope.correlation_id):
            self._dispatch(message, envelope, handler, attempt)

    def _dispatch(self, message, envelope: Envelope, handler: Handler, attempt: int) -> None:
        started = time.perf_counter()
        try:
            duplicate = self._handle_once(envelope, handler)
        except (PermanentError, ValidationError) as exc:
            self._give_up(message, envelope, exc)
            return
        except (peewee.OperationalError, peewee.InterfaceError, Outage) as exc:
            # the database or a downstream server is away: keep the message, wait, let it come back
            log.warning("dependency unavailable, message will be redelivered", extra={"error": str(exc)})
            if not isinstance(exc, Outage):
                self._reset_db()
            self.stats.record(envelope.type, "requeued", started)
            time.sleep(self.db_retry_delay)
            message.requeue()
            return
        except Exception as exc:  # TransientError, or a fault we did not foresee: bounded retries
            self._retry_or_give_up(message, envelope, exc, attempt)
            return
        if self.outbox is not None:
            self.outbox.notify_if_added()
        if duplicate:
            self.stats.record(envelope.type, "duplicate", started)
            log.info("duplicate message ignored", extra={"type": envelope.type, "message_id": envelope.message_id})
        else:
            self.stats.record(envelope.type, "handled", started)
        message.ack()

    def _handle_once(self, envelope: Envelope, handler: Handler | TwoPhaseHandler) -> bool:
        """Run the handler and record the message id in one transaction; True if already handled.

        The id goes in first, with an insert-or-ignore: one statement both claims the message and
        tells a duplicate (nothing inserted) apart. A concurrent delivery of the same message waits
        on the unique key until this transaction ends, then finds it handled.
        """
        key = {"consumer": self.queue_name, "message_id": envelope.message_id}
        if not isinstance(handler, TwoPhaseHandler):
            return self._in_transaction(key, lambda: handler(envelope))
        if self.handled.exists(**key):
            return True
        prepared = handler.prepare(envelope)
        try:
            return self._in_transaction(key, lambda: handler.commit(envelope, prepared))
        finally:
            if handler.finish is not None:
                handler.finish(envelope, prepared)

    def _in_transaction(self, key: dict, work: Callable[[], None]) -> bool:
        """Claim the message id and do `work` in one transaction; True if it was handled before."""
        handled = self.handled
        try:
            with self.database.atomic():
                if handled.insert(key | {"handled_at": utcnow()}, ignore=True) == 0:
                    return True
                work()
                return False
        except peewee.IntegrityError:
            # a concurrent delivery of the same message won the race: its effect stands alone
            if handled.exists(**key):
                return True
            raise

    def _retry_or_give_up(self, message, envelope: Envelope, exc: Exception, attempt: int) -> None:
        delays = self.topology.retry_delays
        if not isinstance(exc, TransientError):
            log.exception("handler failed unexpectedly", extra={"type": envelope.type, "attempt": attempt})
        if attempt >= len(delays):
            self._give_up(message, envelope, exc)
            return
        target = self.topology.retry_queue_name(self.queue_name, delays[attempt])
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt + 1
        properties = {
            k: v
            for k, v in {
                "content_type": message.content_type,
                "message_id": message.properties.get("message_id"),
                "correlation_id": message.properties.get("correlation_id"),
                "type": message.properties.get("type"),
            }.items()
            if v
        }
        try:
            self.retry_publisher.publish_raw(
                self.topology.retry_exchange(self.queue_name).name, target, message.body, properties, headers
            )
        except PublishError:
            message.requeue()
            return
        self.stats.record(envelope.type, "retried")
        log.warning(
            "transient failure, retrying later",
            extra={"type": envelope.type, "attempt": attempt + 1, "delay": delays[attempt], "error": str(exc)},
        )
        message.ack()

    def _give_up(self, message, envelope: Envelope, exc: Exception) -> None:
        log.error("giving up on message", extra={"type": envelope.type, "error": str(exc)})
        if self.on_give_up is not None:
            try:
                with self.database.atomic():
                    self.on_give_up(envelope, exc)
            except (peewee.OperationalError, peewee.InterfaceError):
                self._reset_db()
                time.sleep(self.db_retry_delay)
                message.requeue()
                return
            except Exception:
                log.exception("recording the failure failed; dead-lettering anyway")
            if self.outbox is not None:
                self.outbox.notify()
        self.stats.record(envelope.type, "dead_lettered")
        message.reject()

    def _reset_db(self) -> None:
        try:
            self.database.close()
        except Exception:
            pass


def start_consumer_thread(consumer: MessageConsumer) -> threading.Thread:
    """Run `consumer` (reconnecting by itself) on a daemon thread."""
    thread = threading.Thread(target=consumer.run, kwargs={"safety_interval": consumer.safety_interval},
                              name=f"consumer-{consumer.queue_name}", daemon=True)
    thread.start()
    return thread

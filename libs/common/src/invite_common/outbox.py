"""Transactional outbox: messages are written with the change they announce, then relayed.

A service calls `Outbox.add` inside the same database transaction as its change, so an HTTP 2xx
or a consumer's ack means the change and its message are both durable. The relay publishes
pending rows in batches with publisher confirms and marks them sent; if the broker is away the
rows wait, and are published once it is back.

Several replicas of a service each run a relay over the same PostgreSQL database: each claims
its batch with `FOR UPDATE SKIP LOCKED` until the batch is marked, so a row is published by one
of them, not by all (a crash before the mark still publishes it again: consumers are idempotent).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import peewee

from invite_common import metrics
from invite_common.broker import Outgoing, PublishError, Publisher
from invite_common.db import UTCDateTimeField, utcnow
from invite_common.messages import Envelope
from invite_common.topology import Topology

log = logging.getLogger(__name__)


def outbox_model(database: peewee.Database | peewee.DatabaseProxy) -> type[peewee.Model]:
    """Return the outbox table bound to a service's database."""

    class OutboxMessage(peewee.Model):
        message_id = peewee.CharField(max_length=36, unique=True)
        exchange = peewee.CharField(max_length=200)
        routing_key = peewee.CharField(max_length=200)
        message_type = peewee.CharField(max_length=100)
        correlation_id = peewee.CharField(max_length=100)
        body = peewee.TextField()
        created_at = UTCDateTimeField(default=utcnow)
        published_at = UTCDateTimeField(null=True, index=True)
        attempts = peewee.IntegerField(default=0)

        class Meta:
            table_name = "outbox_message"

    OutboxMessage._meta.set_database(database)
    return OutboxMessage


class Outbox:
    """A service's outbox: add messages inside transactions; a relay publishes them."""

    def __init__(self, database, topology: Topology):
        self.database = database
        self.topology = topology
        self.model = outbox_model(database)
        self._wake = threading.Event()

    def _row(self, envelope: Envelope) -> dict:
        out = Outgoing.from_envelope(envelope, self.topology)
        return {
            "message_id": out.message_id,
            "exchange": out.exchange,
            "routing_key": out.routing_key,
            "message_type": out.type,
            "correlation_id": out.correlation_id,
            "body": out.body,
            "created_at": utcnow(),
        }

    def add(self, envelope: Envelope) -> None:
        """Store `envelope` for publishing; call inside the transaction of the change it announces."""
        self.model.insert(self._row(envelope)).execute()

    def add_many(self, envelopes: list[Envelope]) -> None:
        """Store several envelopes, in order, with a few multi-row inserts."""
        rows = [self._row(e) for e in envelopes]
        for start in range(0, len(rows), 500):
            self.model.insert_many(rows[start:start + 500]).execute()

    def notify(self) -> None:
        """Tell the relay there is something new, after the transaction committed."""
        self._wake.set()

    def pending(self, limit: int = 200) -> list:
        m = self.model
        return list(m.select().where(m.published_at.is_null()).order_by(m.id).limit(limit))

    def pending_count(self) -> int:
        m = self.model
        return m.select().where(m.published_at.is_null()).count()

    def backlog(self) -> tuple[int, dt.datetime | None]:
        """How many messages wait to be published, and when the oldest of them was written."""
        m = self.model
        count, oldest = (m.select(peewee.fn.COUNT(m.id), peewee.fn.MIN(m.created_at))
                         .where(m.published_at.is_null()).tuples().get())
        return count, m.created_at.python_value(oldest) if isinstance(oldest, (str, dt.datetime)) else None

    def relay_once(self, publisher: Publisher, limit: int = 200) -> int:
        """Publish one batch of pending messages and mark the confirmed ones; return how many."""
        if not isinstance(getattr(self.database, "obj", self.database), peewee.PostgresqlDatabase):
            # SQLite serves one process: no other relay to share with, and a transaction held
            # over the publish would stop the process's other writers
            return self._publish(publisher, self.pending(limit))
        with self.database.atomic():
            m = self.model
            claimed = m.select().where(m.published_at.is_null()).order_by(m.id).limit(limit)
            return self._publish(publisher, list(claimed.for_update(skip_locked=True)))

    def _publish(self, publisher: Publisher, rows: list) -> int:
        if not rows:
            return 0
        batch = [
            Outgoing(
                message_id=r.message_id,
                exchange=r.exchange,
                routing_key=r.routing_key,
                body=r.body,
                correlation_id=r.correlation_id,
                type=r.message_type,
            )
            for r in rows
        ]
        confirmed = publisher.publish(batch)
        m = self.model
        now = utcnow()
        with self.database.atomic():
            if confirmed:
                m.update(published_at=now).where(m.message_id.in_(list(confirmed))).execute()
            unconfirmed = [r.id for r in rows if r.message_id not in confirmed]
            if unconfirmed:
                m.update(attempts=m.attempts + 1).where(m.id.in_(unconfirmed)).execute()
        if len(confirmed) < len(rows):
            log.warning("some outbox messages were not confirmed", extra={"count": len(rows) - len(confirmed)})
        return len(confirmed)

    def wait(self, timeout: float) -> None:
        self._wake.wait(timeout)
        self._wake.clear()


class OutboxRelay(threading.Thread):
    """Background thread publishing the outbox: woken by `Outbox.notify`, polling as a fallback."""

    def __init__(self, outbox: Outbox, amqp_url: str, *, poll_interval: float = 0.5, max_backoff: float = 5.0):
        super().__init__(name="outbox-relay", daemon=True)
        self.outbox = outbox
        self.publisher = Publisher(amqp_url, outbox.topology)
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self._stopping = threading.Event()
        self.healthy = True
        self.published = 0

    def run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                sent = self.outbox.relay_once(self.publisher)
                self.published += sent
                metrics.OUTBOX_PUBLISHED.inc(sent)
                self.healthy = True
                backoff = 0.1
                if sent == 0:
                    self.outbox.wait(self.poll_interval)
            except PublishError as exc:
                self.healthy = False
                log.warning("outbox relay cannot publish, will retry", extra={"error": str(exc), "backoff": backoff})
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except peewee.PeeweeException as exc:
                self.healthy = False
                log.warning("outbox relay cannot read the database, will retry", extra={"error": str(exc)})
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
        self.publisher.close()

    def stop(self) -> None:
        self._stopping.set()
        self.outbox.notify()


def wait_until_published(outbox: Outbox, timeout: float = 10.0) -> bool:
    """Block until the outbox is empty (used at shutdown and in tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if outbox.pending_count() == 0:
            return True
        outbox.notify()
        time.sleep(0.05)
    return False

"""Transactional outbox: messages are written with the change they announce, then relayed.

A service calls `Outbox.add` inside the same database transaction as its change, so an HTTP 2xx
or a consumer's ack means the change and its message are both durable. The relay publishes
pending rows in batches with publisher confirms and marks them sent; if the broker is away the
rows wait, and are published once it is back.

Several processes of a service each run a relay over the same database: on PostgreSQL each claims
its batch with `FOR UPDATE SKIP LOCKED` until the batch is marked, on SQLite the relays take turns
on a lock file beside the database, so a row is published by one of them, not by all (a crash
before the mark still publishes it again: consumers are idempotent).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import threading
import time
from typing import Callable

import peewee

from invite_common import metrics
from invite_common.broker import Outgoing, PublishError, Publisher
from invite_common.db import UTCDateTimeField, utcnow
from invite_common.messages import Envelope
from invite_common.statements import Statements
from invite_common.topology import Topology, TopologyMismatch

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
        self.statements = Statements(self.model)
        self._wake = threading.Event()
        self._added = threading.local()  # whether this thread added messages since it last notified

    def _row(self, envelope: Envelope) -> dict:
        return {
            "message_id": envelope.message_id,
            "exchange": self.topology.exchange_for_type(envelope.type, envelope.version).name,
            "routing_key": envelope.type,
            "message_type": envelope.type,
            "correlation_id": envelope.correlation_id,
            "body": envelope.to_json(),
            "created_at": utcnow(),
            "attempts": 0,
        }

    def add(self, envelope: Envelope) -> None:
        """Store `envelope` for publishing; call inside the transaction of the change it announces."""
        self.statements.insert(self._row(envelope))
        self._added.flag = True

    def add_many(self, envelopes: list[Envelope]) -> None:
        """Store several envelopes, in order, with a few multi-row inserts."""
        rows = [self._row(e) for e in envelopes]
        for start in range(0, len(rows), 500):
            self.model.insert_many(rows[start:start + 500]).execute()

    def notify(self) -> None:
        """Tell the relay there is something new, after the transaction committed."""
        self._added.flag = False
        self._wake.set()

    def notify_if_added(self) -> None:
        """`notify`, if this thread added messages since it last notified: a handler that announced
        nothing (intake's history updates) should not send the relay to read an empty table."""
        if getattr(self._added, "flag", False):
            self.notify()

    def pending(self, limit: int = 200, *, claim: bool = False) -> list[Outgoing]:
        """The oldest unpublished messages, at most `limit`, each with its row id.

        With `claim` (inside a transaction), PostgreSQL locks the rows and skips rows another
        relay holds, so two processes of a service never publish the same message twice; on
        SQLite the transaction's write lock already keeps the other process out.
        """
        st = self.statements

        def build(param: str, postgres: bool) -> str:
            cols = ", ".join(st.column(c) for c in _PENDING_COLUMNS)
            sql = f'SELECT {cols} FROM "{st.table}" WHERE {st.column("published_at")} IS NULL ORDER BY {st.column("id")} LIMIT {param}'
            return sql + (" FOR UPDATE SKIP LOCKED" if claim and postgres else "")

        rows = st.execute(st.sql(("pending", claim), build), (limit,)).fetchall()
        return [
            Outgoing(message_id=r[1], exchange=r[2], routing_key=r[3], type=r[4], correlation_id=r[5], body=r[6], row_id=r[0])
            for r in rows
        ]

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
        """Publish one batch of pending messages and mark the confirmed ones; return how many.

        Two processes of one service share its database and each runs a relay; the batch is
        claimed so that they never publish the same message twice. PostgreSQL locks the batch's
        rows in the transaction that marks them (another relay skips them); SQLite relays take
        turns on a lock file beside the database, which, unlike SQLite's write lock held across
        the broker's round trip, leaves the service's other writers free meanwhile.
        """
        if isinstance(self.statements.database(), peewee.PostgresqlDatabase):
            with self.database.atomic():
                batch = self.pending(limit, claim=True)
                if not batch:
                    return 0
                done, unconfirmed = self._mark(batch, publisher.publish(batch))
        else:
            with _relay_turn(self.statements.database()):
                batch = self.pending(limit)
                if not batch:
                    return 0
                confirmed = publisher.publish(batch)
                with self.database.atomic():
                    done, unconfirmed = self._mark(batch, confirmed)
        if unconfirmed:
            log.warning("some outbox messages were not confirmed", extra={"count": len(unconfirmed)})
        return len(done)

    def _mark(self, batch: list[Outgoing], confirmed: set[str]) -> tuple[list, list]:
        st = self.statements
        done = [m.row_id for m in batch if m.message_id in confirmed]
        unconfirmed = [m.row_id for m in batch if m.message_id not in confirmed]
        # plain text with one mark per id: cheap to build, and the batch size varies
        param = st.database().param
        if done:
            marks = ", ".join(param for _ in done)
            st.execute(
                f'UPDATE "{st.table}" SET {st.column("published_at")} = {param} WHERE {st.column("id")} IN ({marks})',
                [self.model.published_at.db_value(utcnow()), *done],
            )
        if unconfirmed:
            marks = ", ".join(param for _ in unconfirmed)
            st.execute(
                f'UPDATE "{st.table}" SET {st.column("attempts")} = {st.column("attempts")} + 1 WHERE {st.column("id")} IN ({marks})',
                unconfirmed,
            )
        return done, unconfirmed

    def wait(self, timeout: float) -> None:
        """Sleep until `notify` (or `timeout`); a notify since the last `armed` returns at once."""
        self._wake.wait(timeout)

    def armed(self) -> None:
        """Forget earlier notifications: call before reading, so a commit after it wakes the next wait."""
        self._wake.clear()


@contextlib.contextmanager
def _relay_turn(db: peewee.Database):
    """Hold the lock file of a SQLite database's relays (none for an in-memory database).

    An OS lock: a process that dies releases it with its file descriptors."""
    path = db.database
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        yield
        return
    with open(f"{path}-relay.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_PENDING_COLUMNS = ("id", "message_id", "exchange", "routing_key", "message_type", "correlation_id", "body")


class OutboxRelay(threading.Thread):
    """Background thread publishing the outbox: woken by `Outbox.notify`, polling as a fallback.

    It drains: a full batch is followed at once by the next one; a short batch means the table
    is empty, so the relay sleeps until a commit notifies it instead of reading it again.
    """

    def __init__(self, outbox: Outbox, amqp_url: str, *, poll_interval: float = 0.5, max_backoff: float = 5.0,
                 batch: int = 200, on_fatal: Callable[[Exception], None] | None = None):
        super().__init__(name="outbox-relay", daemon=True)
        self.outbox = outbox
        self.publisher = Publisher(amqp_url, outbox.topology)
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.batch = batch
        self._stopping = threading.Event()
        self.healthy = True
        self.published = 0
        # told when the relay meets what no retry mends (a queue declared differently on the broker)
        self.on_fatal = on_fatal

    def run(self) -> None:
        backoff = 0.1
        failing_since: float | None = None  # when publishing first failed, while it still fails
        try:
            # the broker and the database connections, opened before the first commit needs them
            self.publisher.open()
            self.outbox.database.connect(reuse_if_open=True)
        except (PublishError, peewee.PeeweeException, TopologyMismatch):
            pass  # the loop below meets the outage (or the mismatch) again
        while not self._stopping.is_set():
            try:
                self.outbox.armed()
                sent = self.outbox.relay_once(self.publisher, self.batch)
                self.published += sent
                metrics.OUTBOX_PUBLISHED.inc(sent)
                if failing_since is not None:
                    log.warning("outbox relay publishing again",
                                extra={"after_seconds": round(time.monotonic() - failing_since, 2)})
                    failing_since = None
                self.healthy = True
                backoff = 0.1
                if sent < self.batch:
                    self.publisher.heartbeat()
                    self.outbox.wait(self.poll_interval)
            except TopologyMismatch as exc:
                self.healthy = False
                log.error("outbox relay stopped", extra={"error": str(exc)})
                if self.on_fatal is not None:
                    self.on_fatal(exc)
                break
            except PublishError as exc:
                self.healthy = False
                failing_since = failing_since or time.monotonic()
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


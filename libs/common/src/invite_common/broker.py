"""Connections and publishing: persistent, `mandatory` messages confirmed by the broker in batches."""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass

import amqp
from kombu import Connection

from invite_common import tls
from invite_common.messages import Envelope
from invite_common.topology import Topology, TopologyMismatch

log = logging.getLogger(__name__)

PERSISTENT = 2

# AMQP heartbeats, in seconds. A node that goes silent (a powered-off machine, a partition) closes no
# socket: without heartbeats an idle connection to it would wait out TCP keepalive, about two and a
# half minutes, before failing over. With them each side notices two missed beats, 20 s here. Every
# long-lived connection must then beat while idle: consumers do in their wait, publishers in `heartbeat`.
HEARTBEAT_SECONDS = 10


class BrokerConnection(Connection):
    """kombu's connection, with each node of a cluster checked under its own name over TLS.

    kombu writes the name of the first host it connects to into the TLS options, and every node
    it fails over to later shares those options: the second node's certificate would then be
    checked against the first node's name, and refused. Each switch of node starts afresh.
    """

    def _init_params(self, **params):
        if isinstance(params.get("ssl"), dict):
            params["ssl"] = dict(params["ssl"], server_hostname=None)
        super()._init_params(**params)


def connection(amqp_url: str, connect_timeout: float = 5) -> Connection:
    """A kombu connection with a connect timeout, so an unreachable broker fails fast and is retried;
    over TLS (`amqps://`) the broker's certificate and host name are checked.

    `amqp_url` may list a cluster's nodes separated by `;`: kombu connects to the first that
    answers, and when a connection is lost the next attempt starts with the node after it."""
    return BrokerConnection(amqp_url, connect_timeout=connect_timeout, transport_options={"confirm_publish": False},
                            ssl=tls.broker_ssl(amqp_url), heartbeat=HEARTBEAT_SECONDS)


def connect(conn: Connection) -> None:
    """Connect `conn` trying each node once, without waiting between them; raise if none answers.

    kombu's `ensure_connection(max_retries=0)` tries only the node it is on: a probe or a publisher
    would then fail for as long as the first node of a cluster is away, though the others answer."""
    conn.ensure_connection(max_retries=max(len(conn.alt) - 1, 0))


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the wire: where it goes and its encoded envelope."""

    message_id: str
    exchange: str
    routing_key: str
    body: str
    correlation_id: str
    type: str
    headers: dict | None = None
    row_id: int | None = None  # the outbox row it was read from, if any

    @property
    def message_type(self) -> str:
        """The type, under the outbox column's name."""
        return self.type

    @classmethod
    def from_envelope(cls, envelope: Envelope, topology: Topology) -> "Outgoing":
        exchange = topology.exchange_for_type(envelope.type, envelope.version).name
        return cls(
            message_id=envelope.message_id,
            exchange=exchange,
            routing_key=envelope.type,
            body=envelope.to_json(),
            correlation_id=envelope.correlation_id,
            type=envelope.type,
        )


class PublishError(Exception):
    """The broker could not be reached, or did not confirm in time."""


class Publisher:
    """Publishes batches on a connection of its own and waits for all their confirms at once.

    One confirm per message costs a round trip each; a batch shares one wait. The connection
    is never the one a consumer reads from, since py-amqp would deliver messages into the
    consumer while it waits for confirms.
    """

    def __init__(self, amqp_url: str, topology: Topology, confirm_timeout: float = 10.0):
        self._url = amqp_url
        self._topology = topology
        self._timeout = confirm_timeout
        self._conn: Connection | None = None
        self._channel = None
        self._next_tag = 1
        self._acked: set[int] = set()
        self._nacked: set[int] = set()
        self._returned: set[str] = set()
        self._waiting: list[int] = []  # the tags of the batch being confirmed, in order
        self._last_beat = float("-inf")  # when `heartbeat` last looked at the connection

    def _ensure(self):
        if self._channel is not None and self._conn is not None and self._conn.connected:
            return self._channel
        self._drop()
        conn = connection(self._url)
        try:
            connect(conn)
            channel = conn.channel()
            self._topology.declare(channel)
            channel.confirm_select()
        except TopologyMismatch:
            conn.release()
            raise  # not an outage: waiting will not mend it
        except Exception as exc:
            conn.release()
            raise PublishError(f"broker unreachable: {exc.__class__.__name__}: {exc}") from exc
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._conn, self._channel, self._next_tag = conn, channel, 1
        return channel

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(self._acked, delivery_tag, multiple)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(self._nacked, delivery_tag, multiple)

    def _settle(self, into: set[int], tag: int, multiple: bool) -> None:
        if multiple:
            # only this batch's tags: the connection's tags since it opened would grow without end
            into.update(t for t in self._waiting if t <= tag and t not in self._acked and t not in self._nacked)
        else:
            into.add(tag)

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        self._returned.add(message.properties.get("message_id", ""))
        log.error("message unroutable", extra={"exchange": exchange, "routing_key": routing_key})

    def open(self) -> None:
        """Connect now rather than with the first batch (raises PublishError if the broker is away)."""
        self._ensure()

    def heartbeat(self) -> None:
        """Keep an idle connection alive, and drop one whose node stopped answering, so the next batch
        connects to a node that does rather than waiting out its confirms. Call it about once a second.

        Nothing reads this connection between batches: the broker's heartbeats are read here first,
        or they would look missed."""
        if self._conn is None or not self._conn.connected:
            return
        now = time.monotonic()
        if now - self._last_beat < HEARTBEAT_SECONDS / 10:
            return  # called between every two messages of a busy consumer: a tenth of a beat is often enough
        self._last_beat = now
        try:
            try:
                self._conn.drain_events(timeout=0)
            except (TimeoutError, socket.timeout):
                pass
            self._conn.heartbeat_check()
        except Exception as exc:  # noqa: BLE001 - whatever the lost connection raised
            log.warning("broker connection lost, the next publish reconnects", extra={"error": exc.__class__.__name__})
            self._drop()

    def publish(self, batch: list[Outgoing]) -> set[str]:
        """Publish `batch`; return the message ids the broker confirmed and routed.

        Raises PublishError when the broker is unreachable or stops answering; the caller keeps
        the unconfirmed messages and tries again.
        """
        if not batch:
            return set()
        channel = self._ensure()
        self._acked.clear(), self._nacked.clear(), self._returned.clear()
        tags: dict[int, str] = {}
        self._waiting = list(range(self._next_tag, self._next_tag + len(batch)))
        try:
            for item in batch:
                message = amqp.Message(
                    item.body,
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=PERSISTENT,
                    message_id=item.message_id,
                    correlation_id=item.correlation_id,
                    type=item.type,
                    application_headers=item.headers or {},
                )
                channel.basic_publish(message, exchange=item.exchange, routing_key=item.routing_key, mandatory=True)
                tags[self._next_tag] = item.message_id
                self._next_tag += 1
            self._await_confirms(tags)
        except PublishError:
            self._drop()
            raise
        except Exception as exc:
            self._drop()
            raise PublishError(f"publish failed: {exc.__class__.__name__}: {exc}") from exc
        return {mid for tag, mid in tags.items() if tag in self._acked and mid not in self._returned}

    def publish_raw(self, exchange: str, routing_key: str, body: bytes | str, properties: dict, headers: dict) -> None:
        """Put an already encoded message on `exchange` (a retry, say), confirmed."""
        channel = self._ensure()
        self._acked.clear(), self._nacked.clear(), self._returned.clear()
        message = amqp.Message(body, application_headers=headers, delivery_mode=PERSISTENT, **properties)
        tag = self._next_tag
        self._waiting = [tag]
        try:
            channel.basic_publish(message, exchange=exchange, routing_key=routing_key, mandatory=True)
            self._next_tag += 1
            self._await_confirms([tag])
        except PublishError:
            self._drop()
            raise
        except Exception as exc:
            self._drop()
            raise PublishError(f"publish failed: {exc.__class__.__name__}: {exc}") from exc
        if tag in self._nacked:
            raise PublishError("broker refused the message")

    def _await_confirms(self, tags) -> None:
        """Read the connection until the broker acked or nacked every tag, or the timeout passed."""
        deadline = time.monotonic() + self._timeout
        while not all(t in self._acked or t in self._nacked for t in tags):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishError("broker did not confirm in time")
            try:
                self._conn.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                continue

    def close(self) -> None:
        """Close the connection politely (at a stop): the broker hears of it at once."""
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:
                pass
        self._conn, self._channel = None, None

    def _drop(self) -> None:
        """Drop a connection that failed, without a word to the broker: a polite close waits for an
        answer, which a node gone silent never gives, and the relay would wait with it for ever."""
        if self._conn is not None:
            try:
                self._conn.collect()
            except Exception:
                pass
        self._conn, self._channel = None, None

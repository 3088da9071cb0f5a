"""The baseline's hops: each a process of its own that consumes, does one hop's work and acks.

Hop 2 (`hop_store`) inserts a row and republishes; hop 3 (`hop_mail`) renders a small Jinja
template and sends it over one open SMTP connection. Each hop acks after its work: per message,
or, when batched, once a prefetch's worth (or all the queue had at once) is done and confirmed.
"""
from __future__ import annotations

import json
import socket
import sqlite3
import time
import uuid

from bench.support.loopback import amqp_connection
from bench.support.phase import PhaseFailed

SUBJECT_TEMPLATE = "Your TechPass invitation{% if name %}, {{ name }}{% endif %}"
TEXT_TEMPLATE = """Hello {{ name or "there" }},

{{ requester }} invited you to TechPass. Activate your account:
{{ url }}?request={{ request_id }}

This link is valid for 14 days.
"""
HTML_TEMPLATE = """<!doctype html><html><body>
<p>Hello {{ name or "there" }},</p>
<p>{{ requester }} invited you to TechPass.</p>
<p><a href="{{ url }}?request={{ request_id }}">Activate your account</a></p>
<p>This link is valid for 14 days.</p>
</body></html>
"""


def _baseline_db(kind: str, url: str):
    """Open the hop-2 database and make its table; returns (connection, insert SQL)."""
    if kind == "sqlite":
        conn = sqlite3.connect(url[len("sqlite:///"):], timeout=10, isolation_level=None)
        # as invite_common.db.SQLITE_PRAGMAS: WAL, a busy timeout, synchronous=normal
        conn.execute("PRAGMA journal_mode=wal")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA synchronous=normal")
        conn.execute("CREATE TABLE IF NOT EXISTS invite (id TEXT PRIMARY KEY, email TEXT, body TEXT, created_at REAL)")
        return conn, "INSERT INTO invite (id, email, body, created_at) VALUES (?, ?, ?, ?)"
    import psycopg2

    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS invite (id TEXT PRIMARY KEY, email TEXT, body TEXT, created_at DOUBLE PRECISION)")
    return conn, "INSERT INTO invite (id, email, body, created_at) VALUES (%s, %s, %s, %s)"


def _insert(kind: str, conn, sql: str, row: tuple) -> None:
    if kind == "sqlite":
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, row)
        conn.execute("COMMIT")
    else:
        with conn, conn.cursor() as cur:  # one transaction, committed on leaving
            cur.execute(sql, row)


def _consume(conn, channel, queue_name: str, prefetch: int, on_message, n: int, ready, stop_at: float, flush=None) -> int:
    """Consume until `n` messages were handled. Without `flush`, each message is acked after its
    handler; with it, handled messages are acked together (one multiple ack) once `flush()` returns,
    which happens when the queue has nothing more to hand over at once or a prefetch's worth waits."""
    channel.basic_qos(0, prefetch, False)
    handled = [0]
    unacked: list[int] = []

    def callback(message):
        on_message(message)
        if flush is None:
            channel.basic_ack(message.delivery_tag)
            handled[0] += 1
        else:
            unacked.append(message.delivery_tag)

    def settle() -> None:
        flush()
        channel.basic_ack(unacked[-1], multiple=True)
        handled[0] += len(unacked)
        unacked.clear()

    channel.basic_consume(queue_name, callback=callback)
    ready.set()
    while handled[0] < n and time.monotonic() < stop_at:
        try:
            conn.drain_events(timeout=0 if unacked else 1)
        except socket.timeout:
            if unacked:
                settle()
            continue
        if unacked and len(unacked) >= prefetch:
            settle()
    return handled[0]


class ConfirmedPublisher:
    """Publishes persistent messages on a confirm-mode channel: one confirm wait per message
    (`per_message`), or any number of publishes followed by one wait for all their confirms."""

    def __init__(self, conn, per_message: bool):
        self.conn, self.per_message = conn, per_message
        self.channel = conn.channel()
        self.channel.confirm_select()
        self.sent = self.confirmed = 0
        self.channel.events["basic_ack"].add(self._ack)
        self.channel.events["basic_nack"].add(self._nack)

    def _ack(self, tag: int, multiple: bool) -> None:
        self.confirmed = max(self.confirmed, tag) if multiple else self.confirmed + 1

    def _nack(self, tag: int, multiple: bool) -> None:
        raise PhaseFailed("the broker refused a message")

    def publish(self, body: str, exchange: str, routing_key: str) -> None:
        import amqp

        message = amqp.Message(body, content_type="application/json", delivery_mode=2, message_id=uuid.uuid4().hex)
        self.channel.basic_publish(message, exchange=exchange, routing_key=routing_key, mandatory=True)
        self.sent += 1
        if self.per_message:
            self.wait()

    def wait(self, timeout: float = 10.0) -> None:
        """Read confirms until every message published so far is confirmed."""
        deadline = time.monotonic() + timeout
        while self.confirmed < self.sent:
            if time.monotonic() > deadline:
                raise PhaseFailed("the broker did not confirm in time")
            try:
                self.conn.drain_events(timeout=1)
            except socket.timeout:
                continue


def hop_store(amqp_url: str, exchange: str, in_queue: str, db_kind: str, db_url: str, n: int, prefetch: int, ready, finish, timeout: float, batched: bool) -> None:
    """Hop 2: consume, insert a row (its own transaction), republish; ack once the republish is
    confirmed: per message, or (`batched`) for everything handled since the last confirm wait."""
    try:
        consume_conn, publish_conn = amqp_connection(amqp_url), amqp_connection(amqp_url)
        # publishing with confirms on its own connection: waiting for a confirm on the consuming
        # one would deliver further messages into the handler
        pub = ConfirmedPublisher(publish_conn.connection, per_message=not batched)
        db, sql = _baseline_db(db_kind, db_url)

        def on_message(message):
            body = json.loads(message.body)
            _insert(db_kind, db, sql, (body["id"], body["email"], message.body if isinstance(message.body, str) else message.body.decode(), time.time()))
            pub.publish(message.body, exchange, "hop2")

        _consume(consume_conn.connection, consume_conn.channel(), in_queue, prefetch, on_message, n, ready,
                 time.monotonic() + timeout, flush=pub.wait if batched else None)
        finish.wait(timeout)  # stay until the parent has read this process's CPU time
        consume_conn.release(), publish_conn.release(), db.close()
    except KeyboardInterrupt:
        pass


def hop_mail(amqp_url: str, in_queue: str, smtp_port: int, n: int, prefetch: int, ready, finish, timeout: float) -> None:
    """Hop 3: consume, render the Jinja template, send it over one kept-open SMTP connection, then ack."""
    import email.utils
    import smtplib
    from email.message import EmailMessage

    import jinja2

    try:
        env = jinja2.Environment(autoescape=jinja2.select_autoescape(default=True), undefined=jinja2.StrictUndefined)
        subject_t, text_t, html_t = (env.from_string(t) for t in (SUBJECT_TEMPLATE, TEXT_TEMPLATE, HTML_TEMPLATE))
        smtp = smtplib.SMTP("127.0.0.1", smtp_port, local_hostname="invites.local", timeout=10)
        smtp.ehlo()
        conn = amqp_connection(amqp_url)

        def on_message(message):
            body = json.loads(message.body)
            ctx = {"name": body["name"], "requester": body["requester"], "url": "https://techpass.invites.local/activate", "request_id": body["id"]}
            mail = EmailMessage()
            mail["From"] = "TechPass Invites <no-reply@invites.local>"
            mail["To"] = body["email"]
            mail["Subject"] = subject_t.render(ctx)
            mail["Message-ID"] = email.utils.make_msgid(domain="invites.local")
            mail.set_content(text_t.render(ctx))
            mail.add_alternative(html_t.render(ctx), subtype="html")
            smtp.send_message(mail, from_addr="no-reply@invites.local", to_addrs=[body["email"]])

        _consume(conn.connection, conn.channel(), in_queue, prefetch, on_message, n, ready, time.monotonic() + timeout)
        finish.wait(timeout)
        conn.release()
        smtp.quit()
    except KeyboardInterrupt:
        pass

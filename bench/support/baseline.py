"""The baseline: a minimal hand-written 3-hop durable pipeline on the same broker and database kind.

Hop 1 (this process) publishes persistent messages; hop 2 stores each as a row and republishes it;
hop 3 renders and mails it (`bench.support.hops`). Run "fair", with batched publisher confirms as a
competent hand-written pipeline would, or "old", with one confirm round trip per message.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
import uuid
from dataclasses import dataclass

from bench.support.cpu import CpuMeter, broker_pids, postgres_backends
from bench.support.databases import Database, count_rows
from bench.support.hops import ConfirmedPublisher, hop_mail, hop_store
from bench.support.loopback import amqp_connection
from bench.support.phase import Cleanup, PhaseFailed

REQUESTER = "amy@tech.gov.sg"  # the baseline's rows name one


@dataclass
class BaselineResult:
    """What one baseline run measured: messages through, its time, its CPU, rows and emails counted."""

    db: str
    n: int
    received: int
    seconds: float
    complete: bool
    batched: bool = True
    cpu: dict | None = None
    rows: int = 0
    emails: int = 0

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0


def run_baseline(args, amqp_url: str, db: Database, mailbox, cleanup: Cleanup, batched: bool) -> BaselineResult:
    """Send `--n` messages through the three hops on throwaway queues; time them to the last email."""
    n, run = args.n, uuid.uuid4().hex[:10]
    ns = f"bench-{run}"
    exchange, q1, q2 = f"{ns}.pipeline", f"{ns}.hop1", f"{ns}.hop2"
    conn = amqp_connection(amqp_url)
    cleanup.push(lambda: _delete_baseline_topology(amqp_url, exchange, (q1, q2)))
    ch = conn.channel()
    ch.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
    for q, key in ((q1, "hop1"), (q2, "hop2")):
        ch.queue_declare(q, durable=True, auto_delete=False)
        ch.queue_bind(q, exchange, key)
    timeout = args.phase_timeout or (60 + n / 20)
    ctx = mp.get_context("spawn")
    ready, finish = [ctx.Event(), ctx.Event()], ctx.Event()
    procs = [
        ctx.Process(target=hop_store, args=(amqp_url, exchange, q1, db.kind, db.url, n, args.prefetch, ready[0], finish, timeout, batched), name="hop-store", daemon=True),
        ctx.Process(target=hop_mail, args=(amqp_url, q2, mailbox.port, n, args.prefetch, ready[1], finish, timeout), name="hop-mail", daemon=True),
    ]
    for p in procs:
        p.start()
        cleanup.push(lambda p=p: (p.terminate(), p.join(5)) if p.is_alive() else None)
    for r, p in zip(ready, procs):
        if not r.wait(30):
            raise PhaseFailed(f"baseline {p.name} did not start consuming (exit code {p.exitcode})")

    # hop 1 publishes on a connection nothing consumes from: one confirm each, or in chunks
    # of a prefetch's worth with one confirm wait per chunk
    pub = ConfirmedPublisher(conn.connection, per_message=not batched)
    meter = CpuMeter({"bench": os.getpid(), "store": procs[0].pid, "mail": procs[1].pid} | broker_pids(), postgres_backends([db]))
    addresses = [f"base-{run}-{i}@tech.gov.sg" for i in range(n)]
    padding = "x" * 400  # about the size of the system's invite.submitted message
    start = time.monotonic()
    deadline = start + timeout
    for i, address in enumerate(addresses):
        body = json.dumps({"id": f"{run}-{i}", "email": address, "name": f"Officer {i}", "requester": REQUESTER, "reason": padding})
        pub.publish(body, exchange, "hop1")
        if batched and pub.sent - pub.confirmed >= args.prefetch:
            pub.wait()
        if time.monotonic() > deadline:
            break
    pub.wait()
    complete = False
    while time.monotonic() < deadline:
        if mailbox.wait_for(addresses, min(deadline, time.monotonic() + 1.0)):
            complete = True
            break
        dead = [p for p in procs if p.exitcode not in (None, 0)]
        if dead:
            raise PhaseFailed(f"baseline {dead[0].name} exited with {dead[0].exitcode}")
    arrivals = mailbox.arrived(addresses)
    end = max(arrivals) if complete else time.monotonic()
    cpu = meter.stop()
    finish.set()
    conn.release()
    for p in procs:
        p.join(5)
    rows = count_rows(db, "SELECT COUNT(*) FROM invite")
    return BaselineResult(db.kind, n, len(arrivals), end - start, complete, batched, cpu, rows, mailbox.emails_to(addresses))


def _delete_baseline_topology(amqp_url: str, exchange: str, queues) -> None:
    conn = amqp_connection(amqp_url)
    ch = conn.channel()
    for q in queues:
        ch.queue_delete(q)
    ch.exchange_delete(exchange)
    conn.release()

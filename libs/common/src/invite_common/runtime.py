"""The service runtime: a service is declared once, and this module runs it and stops it in order.

A `Service` says what a service is: its name, database and migrations, its consumers as
`queue -> {message type: handler}`, background tasks, readiness checks and metrics. `start`
then does the same for every service: open the database and apply its migrations, run the
start-up steps, start the outbox relay and one consumer thread per queue (each declares the
broker topology whenever it connects, so a broker that is down at start only delays work),
run the background tasks and serve `/healthz`, `/readyz` and `/metrics`.

`RunningService.stop` ends it in the order that loses nothing: stop taking messages and
running tasks, let the relay finish, shut the health server, join every thread, then close
what the service asked to be closed (e.g. the SMTP connection, only once no send is under
way) and the database.
"""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Callable, Sequence

import peewee

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from invite_common import db as dbmod
from invite_common import housekeeping, metrics
from invite_common.config import Settings
from invite_common.consumer import (
    GiveUp, Handler, MessageConsumer, TwoPhaseHandler, handled_message_model, start_consumer_thread,
)
from invite_common.health import Check, broker_check, database_check, serve_health
from invite_common.outbox import Outbox, OutboxRelay
from invite_common.topology import Topology, for_service

log = logging.getLogger(__name__)



def topology_for(settings: Settings, service: str) -> Topology:
    """The broker topology of this deployment as `service` uses it (only its own names to declare
    when it connects as a broker user of its own)."""
    return for_service(settings, service)


@dataclass(frozen=True)
class Task:
    """A background task: `run` is called every `every` seconds until the service stops."""

    name: str
    every: float
    run: Callable[[], None]


@dataclass
class Service:
    """What a service is; `start` makes it run."""

    name: str
    settings: Settings
    db_url: str
    database: peewee.DatabaseProxy
    migrations: Sequence
    outbox: Outbox
    # queue -> {message type: handler}; the queue's bindings come from the topology
    consumers: dict[str, dict[str, Handler | TwoPhaseHandler]] = field(default_factory=dict)
    # called when a message is given up (dead-lettered), in the consumer's transaction
    on_give_up: GiveUp | None = None
    # queues that refuse a message not sent by its type's publisher through its exchange
    source_checked: frozenset[str] | set[str] = frozenset()
    prefetch: int | None = None  # the settings' AMQP_PREFETCH when None
    tasks: Sequence[Task] = ()
    # where /healthz, /readyz and /metrics are served; None when a web app serves them itself
    bind: str | None = None
    # readiness checks beside the database's and the broker's
    checks: dict[str, Check] = field(default_factory=dict)
    # Prometheus collectors beside the counters every process keeps and the outbox's gauges;
    # they run when scraped (see invite_common.metrics.QueryCollector)
    metrics: Sequence[Collector] = ()
    # run once the database is up to date, before anything consumes
    startup: Sequence[Callable[[], None]] = ()
    # closed last, once every thread has ended
    closers: Sequence[Callable[[], None]] = ()


@dataclass
class RunningService:
    """The running parts of a started service."""

    service: Service
    relay: OutboxRelay
    consumers: dict[str, MessageConsumer]
    threads: list[threading.Thread] = field(default_factory=list)
    health: ThreadingHTTPServer | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    app: object | None = None  # intake's web app, served by its own server
    registry: CollectorRegistry | None = None

    @property
    def outbox(self) -> Outbox:
        return self.service.outbox

    @property
    def settings(self) -> Settings:
        return self.service.settings

    def checks(self) -> dict[str, Check]:
        """Readiness: the database, the broker, then the service's own checks."""
        s = self.service
        return {"database": database_check(s.database), "broker": broker_check(s.settings.amqp_url_for(s.name))} | s.checks

    def metrics(self) -> bytes:
        """The service's Prometheus metrics, in the text exposition format."""
        return metrics.exposition(self.registry)

    def _run_task(self, task: Task) -> None:
        while not self.stopping.wait(task.every):
            try:
                task.run()
            except Exception:
                log.exception("background task failed; will try again", extra={"task": task.name})

    def stop(self, timeout: float = 10.0) -> None:
        """Stop consuming, running tasks, relaying and serving; wait for the threads; close the rest."""
        self.stopping.set()
        for consumer in self.consumers.values():
            consumer.stop()
        self.relay.stop()
        if self.health is not None:
            self.health.shutdown()
            self.health.server_close()
        for thread in [*self.threads, self.relay]:
            if thread.is_alive():
                thread.join(timeout)
        for close in self.service.closers:
            close()
        if not self.service.database.is_closed():
            self.service.database.close()

    def run_until_signalled(self) -> None:
        """Block until SIGINT or SIGTERM, then stop."""
        run_until_signalled(self.service.name, self.service.bind or "", self.stop)


def migrate(service: Service) -> int:
    """Bring the service's database schema up to date, without starting anything; return how many ran.

    It connects as `<SERVICE>_MIGRATION_DB_URL` names (the role that owns the schema), else as the
    service itself, and then grants the service's own role (`<SERVICE>_DB_URL`'s user) the reads
    and writes it needs on every table: in production that role may change no schema."""
    from urllib.parse import urlsplit

    from invite_common.config import ensure_sqlite_dir

    url = service.settings.migration_db_url_for(service.name) or service.db_url
    ensure_sqlite_dir(url)
    db = dbmod.connect(url)
    try:
        ran = dbmod.apply_migrations(db, service.migrations)
        runtime_role = urlsplit(service.db_url).username
        if runtime_role and runtime_role != urlsplit(url).username:
            dbmod.grant_runtime_role(db, runtime_role)
        return ran
    finally:
        db.close()


def start(service: Service) -> RunningService:
    """Open the database, start the relay, consumers, tasks and health server; return the running parts."""
    settings = service.settings
    # production never changes its schema on start: the deployment's migration step does, with a role of its own
    dbmod.open_database(service.db_url, service.database, service.migrations,
                        migrate=settings.env != "production", service=service.name)
    for step in service.startup:
        with service.database.atomic():
            step()
    consumers = {
        queue: MessageConsumer(
            queue=queue,
            handlers=handlers,
            amqp_url=settings.amqp_url_for(service.name),
            topology=service.outbox.topology,
            database=service.database,
            outbox=service.outbox,
            on_give_up=service.on_give_up,
            prefetch=service.prefetch or settings.amqp_prefetch,
            check_source=queue in service.source_checked,
        )
        for queue, handlers in service.consumers.items()
    }
    running = RunningService(service, OutboxRelay(service.outbox, settings.amqp_url_for(service.name)), consumers)
    running.registry = metrics.registry_for(metrics.OutboxCollector(service.outbox), *service.metrics)
    running.relay.start()
    running.threads = [start_consumer_thread(c) for c in consumers.values()]
    tasks = list(service.tasks)
    if settings.message_log_days > 0:
        handled = handled_message_model(service.database)
        tasks.append(Task("message-log-trim", housekeeping.TRIM_EVERY, lambda: housekeeping.trim_message_log(
            service.database, service.outbox.model, handled, settings.message_log_days)))
    for task in tasks:
        thread = threading.Thread(target=running._run_task, args=(task,), name=task.name, daemon=True)
        thread.start()
        running.threads.append(thread)
    if service.bind is not None:
        try:
            running.health = serve_health(service.bind, running.checks(), running.metrics)
        except OSError:
            running.stop()  # the port is taken: don't leave the other threads running
            raise
    return running


def run_until_signalled(service: str, bind: str, stop: Callable[[], None]) -> None:
    """Block until the process is asked to stop, then call `stop` (its threads end their work)."""
    named = logging.getLogger(service)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    named.info(f"{service} started", extra={"bind": bind})
    done.wait()
    named.info(f"{service} stopping")
    stop()

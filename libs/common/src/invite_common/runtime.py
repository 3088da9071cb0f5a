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
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Callable, Sequence

import peewee

from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from invite_common import db as dbmod
from invite_common import housekeeping, metrics
from invite_common.config import ConfigError, Settings
from invite_common.consumer import (
    GiveUp, Handler, MessageConsumer, TwoPhaseHandler, handled_message_model, start_consumer_thread,
)
from invite_common.health import Check, Health, broker_check, database_check, serve_health
from invite_common.outbox import Outbox, OutboxRelay
from invite_common.topology import Topology, TopologyMismatch, for_service

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
    # checks whose failure leaves the service ready, with what to say meanwhile
    degraded: dict[str, str] = field(default_factory=dict)
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
    health_server: ThreadingHTTPServer | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    app: object | None = None  # intake's web app, served by its own server
    registry: CollectorRegistry | None = None
    health: Health | None = None
    # what stopped the service from within (a queue declared otherwise on the broker), if anything
    fatal: str | None = None
    # set by a signal or a fatal error: the process should stop now
    stop_requested: threading.Event = field(default_factory=threading.Event)

    @property
    def outbox(self) -> Outbox:
        return self.service.outbox

    @property
    def settings(self) -> Settings:
        return self.service.settings

    def dead_loops(self) -> list[str]:
        """The loops (consumers, relay, tasks) that ended although the service is not stopping."""
        return sorted(t.name for t in [*self.threads, self.relay] if not t.is_alive())

    def metrics(self) -> bytes:
        """The service's Prometheus metrics, in the text exposition format."""
        return metrics.exposition(self.registry)

    def report_fatal(self, exc: Exception) -> None:
        """Stop the service from within: what went wrong cannot be mended by waiting."""
        if self.fatal is None:
            self.fatal = str(exc)
        self.stop_requested.set()

    def _run_task(self, task: Task) -> None:
        while not self.stopping.wait(task.every):
            try:
                task.run()
            except Exception:
                log.exception("background task failed; will try again", extra={"task": task.name})

    def stop(self, timeout: float | None = None) -> None:
        """Stop in the order that loses nothing, within `timeout` (SHUTDOWN_SECONDS) in all.

        Not ready first; then no new messages (the consumers finish the one in hand); then the
        relay publishes what the outbox holds while the broker lets it; then the health server,
        every thread, what the service asked to close, and the database."""
        deadline = time.monotonic() + (self.settings.shutdown_seconds if timeout is None else timeout)
        self.stopping.set()
        self.stop_requested.set()
        for consumer in self.consumers.values():
            consumer.stop()
        for thread in self.threads:
            if thread.name.startswith("consumer-"):
                thread.join(max(0.0, deadline - time.monotonic()))
        self._drain_outbox(deadline)
        self.relay.stop()
        if self.health_server is not None:
            self.health_server.shutdown()
            self.health_server.server_close()
        for thread in [*self.threads, self.relay]:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in [*self.threads, self.relay] if t.is_alive()]
        if stuck:
            log.warning("stopping without waiting for these", extra={"threads": stuck})
        for close in self.service.closers:
            close()
        if not self.service.database.is_closed():
            self.service.database.close()

    def _drain_outbox(self, deadline: float) -> None:
        """Let the relay publish what was committed before the stop, while the broker answers."""
        while self.relay.is_alive() and time.monotonic() < deadline - 1.0:
            try:
                if self.outbox.pending_count() == 0 or not self.relay.healthy:
                    return
            except peewee.PeeweeException:
                return
            self.outbox.notify()
            time.sleep(0.05)

    def run_until_signalled(self) -> int:
        """Block until SIGINT or SIGTERM (or a fatal error), then stop; return the exit status."""
        return run_until_signalled(self.service.name, self.service.bind or "", self.stop, self)


def migrate(service: Service) -> int:
    """Bring the service's database schema up to date, without starting anything; return how many ran.

    It connects as `<SERVICE>_MIGRATION_DB_URL` names (the role that owns the schema), else as the
    service itself, and then grants the service's own role (`<SERVICE>_DB_URL`'s user) the reads
    and writes it needs on every table: in production that role may change no schema."""
    from urllib.parse import urlsplit

    from invite_common.config import ensure_sqlite_dir

    url = service.settings.migration_db_url or service.db_url
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


def wait_for_schema(service: Service, timeout: float, interval: float = 2.0) -> int:
    """Wait until the migration step has brought the service's schema up to date; return the exit status.

    A pod's init container runs it, so a rollout's new pods wait for the migration Job however the
    two were applied, while the old pods keep serving; it reads as the service's own role and changes
    nothing. A database that cannot be reached yet is waited for too. 0 once no migration is pending;
    1 at the timeout, naming what still is (the pod then restarts and waits again)."""
    from invite_common.config import ensure_sqlite_dir

    ensure_sqlite_dir(service.db_url)
    deadline = time.monotonic() + timeout
    said = None
    while True:
        try:
            db = dbmod.connect(service.db_url)
            try:
                pending = dbmod.pending_migrations(db, service.migrations)
            finally:
                db.close()
            why = str(dbmod.SchemaNotReady(service.name, pending).code) if pending else None
        except peewee.OperationalError as exc:
            why = f"{service.name}'s database cannot be reached yet ({exc.__class__.__name__})"
        if why is None:
            print(f"{service.name} schema up to date")
            return 0
        if why != said:
            print(f"waiting: {why}", flush=True)
            said = why
        if time.monotonic() >= deadline:
            print(f"gave up after {timeout:g} s: {why}", file=sys.stderr)
            return 1
        time.sleep(interval)


def check_topology(service: Service) -> None:
    """Stop at start when the broker holds one of the service's queues with other arguments than
    these settings declare (a classic queue where quorum ones are asked for, say). A broker that
    does not answer now only delays the work: the consumers declare again when they connect."""
    from invite_common.broker import connect, connection

    conn = connection(service.settings.amqp_url, connect_timeout=3)
    try:
        connect(conn)
        service.outbox.topology.declare(conn.channel())
    except TopologyMismatch as exc:
        raise ConfigError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - unreachable, refused login: the readiness check says so
        log.warning("broker not reachable at start; its queues will be checked on connecting",
                    extra={"error": exc.__class__.__name__})
    finally:
        conn.release()


def start(service: Service) -> RunningService:
    """Open the database, start the relay, consumers, tasks and health server; return the running parts."""
    settings = service.settings
    # production never changes its schema on start: the deployment's migration step does, with a role of its own
    dbmod.open_database(service.db_url, service.database, service.migrations,
                        migrate=settings.env != "production", service=service.name)
    check_topology(service)
    for step in service.startup:
        with service.database.atomic():
            step()
    consumers = {
        queue: MessageConsumer(
            queue=queue,
            handlers=handlers,
            amqp_url=settings.amqp_url,
            topology=service.outbox.topology,
            database=service.database,
            outbox=service.outbox,
            on_give_up=service.on_give_up,
            prefetch=service.prefetch or settings.amqp_prefetch,
            check_source=queue in service.source_checked,
        )
        for queue, handlers in service.consumers.items()
    }
    running = RunningService(service, OutboxRelay(service.outbox, settings.amqp_url), consumers)
    running.relay.on_fatal = running.report_fatal
    for consumer in consumers.values():
        consumer.on_fatal = running.report_fatal
    running.health = Health(
        {"database": database_check(service.database), "broker": broker_check(settings.amqp_url, consumers.values())}
        | service.checks,
        degraded=dict(service.degraded), dead=running.dead_loops, stopping=running.stopping,
    )
    running.registry = metrics.registry_for(metrics.OutboxCollector(service.outbox), running.health.collector(),
                                            *service.metrics)
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
            running.health_server = serve_health(service.bind, running.health, running.metrics)
        except OSError:
            running.stop()  # the port is taken: don't leave the other threads running
            raise
    return running


def stop_on_signals(requested: threading.Event) -> list[int]:
    """Make SIGINT and SIGTERM set `requested`; return the list each signal received is added to.

    The handlers are what make a stop graceful, and they matter most as a container's first
    process: PID 1 of a namespace ignores any signal it has no handler for, so without them a
    rollout's SIGTERM would be ignored until the kill at the end of the grace period. A second
    signal changes nothing: the stop is already bounded by SHUTDOWN_SECONDS."""
    signalled: list[int] = []

    def on_signal(signum, _frame) -> None:
        signalled.append(signum)
        requested.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    return signalled


def stop_and_report(service: str, running: RunningService | None, signalled: list[int], stop: Callable[[], None]) -> int:
    """Stop (`stop`), saying why and how long it took; return the exit status: 1 with one line for
    a fatal error the service found (`RunningService.report_fatal`), 0 for a signal."""
    named = logging.getLogger(service)
    fatal = running.fatal if running is not None and not signalled else None
    named.info(f"{service} stopping", extra={"reason": "fatal error" if fatal else "signal"})
    started = time.monotonic()
    stop()
    named.info(f"{service} stopped", extra={"seconds": round(time.monotonic() - started, 2)})
    if fatal:
        print(f"configuration error: {fatal}", file=sys.stderr)
        return 1
    return 0


def run_until_signalled(service: str, bind: str, stop: Callable[[], None], running: RunningService | None = None) -> int:
    """Block until the process is asked to stop (SIGINT, SIGTERM, or a fatal error the service
    found), then call `stop`; return the exit status (see `stop_and_report`)."""
    done = running.stop_requested if running is not None else threading.Event()
    signalled = stop_on_signals(done)
    logging.getLogger(service).info(f"{service} started", extra={"bind": bind})
    while not done.wait(1.0):
        pass
    return stop_and_report(service, running, signalled, stop)

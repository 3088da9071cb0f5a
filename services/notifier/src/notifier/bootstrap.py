"""Wire the notifier service: database, outbox relay, the send-email consumer, mailer, health server."""
from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

import peewee

from invite_common import db as dbmod
from invite_common import messages
from invite_common.config import Settings
from invite_common.consumer import MessageConsumer, TwoPhaseHandler, start_consumer_thread
from invite_common.health import broker_check, database_check, serve_health
from invite_common.outbox import Outbox, OutboxRelay
from invite_common.topology import Topology

from notifier import deliveries, handlers, models
from notifier.db import database
from notifier.adapters.mailer import SmtpMailer
from notifier.migrations import MIGRATIONS

log = logging.getLogger(__name__)

QUEUE = "notifier.send-email"
# Each message waits on an SMTP round trip, so a long prefetch only parks messages on one
# instance (where a crash would redeliver them all) instead of sharing them among instances.
MAX_PREFETCH = 20


def topology_for(settings: Settings) -> Topology:
    return Topology(settings.amqp_namespace, settings.amqp_quorum_queues, settings.retry_delays)


def open_database(settings: Settings) -> peewee.Database:
    """Bind notifier's models to NOTIFIER_DB_URL and bring its schema up to date."""
    return dbmod.open_database(settings.notifier_db_url, database, MIGRATIONS)


def build_dependencies(settings: Settings) -> handlers.Dependencies:
    return handlers.Dependencies(
        outbox=Outbox(database, topology_for(settings)),
        mailer=SmtpMailer(settings.smtp_url, settings.mail_from, settings.smtp_timeout),
    )


@dataclass
class NotifierService:
    """The running pieces of one notifier process."""

    settings: Settings
    deps: handlers.Dependencies
    relay: OutboxRelay
    consumer: MessageConsumer
    threads: list[threading.Thread] = field(default_factory=list)
    health: ThreadingHTTPServer | None = None

    def metrics(self) -> dict[str, float]:
        stats = self.consumer.stats
        out = {
            "notifier_outbox_published_total": self.relay.published,
            "notifier_send_email_handled_total": stats.handled,
            "notifier_send_email_duplicates_total": stats.duplicates,
            "notifier_send_email_retried_total": stats.retried,
            "notifier_send_email_dead_lettered_total": stats.dead_lettered,
        }
        try:
            # the health server answers on a fresh thread each time: don't leave its connection open
            with database.connection_context():
                counts = deliveries.counts_by_status()
        except peewee.PeeweeException:
            return out  # the database is away: /readyz says so; the counters above still help
        out["notifier_emails_sent"] = counts.get(models.SENT, 0)
        out["notifier_emails_failed"] = counts.get(models.FAILED, 0)
        return out

    def stop(self, timeout: float = 10.0) -> None:
        """Stop consuming, relaying and serving, wait for the threads, then close the mail connection."""
        self.consumer.stop()
        self.relay.stop()
        if self.health is not None:
            self.health.shutdown()
            self.health.server_close()
        for thread in [*self.threads, self.relay]:
            thread.join(timeout)
        # after the consumer thread ended, so no send is cut off halfway
        self.deps.mailer.close()


def start(settings: Settings) -> NotifierService:
    """Start every part of the notifier service and return a handle on them."""
    open_database(settings)
    deps = build_dependencies(settings)
    consumer = MessageConsumer(
        queue=QUEUE,
        handlers={
            messages.NOTIFIER_SEND_EMAIL: TwoPhaseHandler(
                prepare=functools.partial(handlers.send_email, deps=deps),
                commit=functools.partial(handlers.record_email_sent, deps=deps),
            )
        },
        amqp_url=settings.amqp_url,
        topology=deps.outbox.topology,
        database=database,
        outbox=deps.outbox,
        on_give_up=functools.partial(handlers.record_email_failed, deps=deps),
        prefetch=max(1, min(settings.amqp_prefetch, MAX_PREFETCH)),
    )
    relay = OutboxRelay(deps.outbox, settings.amqp_url)
    service = NotifierService(settings, deps, relay, consumer)
    relay.start()
    service.threads = [start_consumer_thread(consumer)]
    try:
        # SMTP is left out of readiness: while it is down the service still takes commands and
        # retries their sends, which is better than being restarted by an orchestrator
        service.health = serve_health(
            settings.notifier_bind,
            {"database": database_check(database), "broker": broker_check(settings.amqp_url)},
            service.metrics,
        )
    except OSError:
        service.stop()  # the port is taken: don't leave the other threads running
        raise
    return service

"""The notifier service as declared: its database, the send-email consumer, the mailer, its gauges."""
from __future__ import annotations

import functools

from invite_common import messages, metrics, runtime
from invite_common.config import Settings
from invite_common.consumer import TwoPhaseHandler
from invite_common.outbox import Outbox

from notifier import catalog, deliveries, handlers, rendering
from notifier.adapters.mailer import SmtpMailer
from notifier.db import database
from notifier.migrations import MIGRATIONS

QUEUE = "notifier.send-email"
# Each message waits on an SMTP round trip, so a long prefetch only parks messages on one
# instance (where a crash would redeliver them all) instead of sharing them among instances.
MAX_PREFETCH = 20


def build_dependencies(settings: Settings) -> handlers.Dependencies:
    """The handlers' outbox and SMTP mailer."""
    return handlers.Dependencies(
        outbox=Outbox(database, runtime.topology_for(settings, "notifier")),
        mailer=SmtpMailer(settings.smtp_url, settings.mail_from, settings.smtp_timeout),
    )


def delivery_log(database) -> metrics.QueryCollector:
    """Deliveries by status as the log holds them (every replica's sends, unlike the counters)."""
    return metrics.QueryCollector(
        database, "invites_deliveries", "Emails in the delivery log, by status.", ["status"],
        lambda: [((status,), count) for status, count in deliveries.counts_by_status().items()],
    )


def email_counters() -> list:
    """The sent and failed counters, with a series per template from the start (at 0) so that
    alerts on their increase see the first one."""
    for template in (*catalog.CATALOG, "other"):
        metrics.EMAILS_SENT.labels(template)
        metrics.EMAILS_FAILED.labels(template)
    return [metrics.EMAILS_SENT, metrics.EMAILS_FAILED]


def declare(settings: Settings) -> runtime.Service:
    """The notifier service: one consumer that sends emails, its gauges, its mail connection."""
    deps = build_dependencies(settings)
    on = functools.partial
    return runtime.Service(
        name="notifier",
        settings=settings,
        db_url=settings.db_url,
        database=database,
        migrations=MIGRATIONS,
        outbox=deps.outbox,
        consumers={
            QUEUE: {
                messages.NOTIFIER_SEND_EMAIL: TwoPhaseHandler(
                    prepare=on(handlers.send_email, deps=deps),
                    commit=on(handlers.record_email_sent, deps=deps),
                    finish=on(handlers.release_send_lock, deps=deps),
                ),
            },
        },
        on_give_up=on(handlers.record_email_failed, deps=deps),
        prefetch=max(1, min(settings.amqp_prefetch, MAX_PREFETCH)),
        # SMTP is left out of readiness: while it is down the service still takes commands and
        # retries their sends, which is better than being restarted by an orchestrator
        bind=settings.bind,
        metrics=[delivery_log(database), *email_counters()],
        startup=[rendering.compile_templates],
        # after the consumer thread ended, so no send is cut off halfway
        closers=[deps.mailer.close],
    )


def start(settings: Settings) -> runtime.RunningService:
    """Start every part of the notifier service and return a handle on them."""
    return runtime.start(declare(settings))

"""Wire the intake service: database, role grants, outbox relay, history consumer, the web app."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask

from invite_common import db as dbmod
from invite_common.config import Settings
from invite_common.consumer import MessageConsumer, start_consumer_thread
from invite_common.outbox import Outbox, OutboxRelay
from invite_common.topology import Topology

from intake import history_consumer
from intake.app import create_app
from intake.audit import retention
from intake.audit.keys import SigningKeyMissing, load_signer
from intake.audit.tasks import HistoryLinker
from intake.db import database
from intake.identity import apply_role_grants
from intake.migrations import MIGRATIONS

log = logging.getLogger(__name__)


def open_database(settings: Settings):
    """Bind intake's models to INTAKE_DB_URL and bring its schema up to date."""
    return dbmod.open_database(settings.intake_db_url, database, MIGRATIONS)


@dataclass
class IntakeService:
    """The running pieces of one intake process."""

    app: Flask
    outbox: Outbox
    relay: OutboxRelay
    consumer: MessageConsumer
    linker: HistoryLinker

    def stop(self) -> None:
        self.consumer.stop()
        self.relay.stop()
        # last: it links what the consumer recorded and signs the final head
        self.linker.stop()


def start(settings: Settings) -> IntakeService:
    """Open the database, apply grants, start the relay and the history consumer; return the app."""
    if settings.env == "production" and settings.auth_mode == "dev":
        raise SystemExit("AUTH_MODE=dev is refused when ENV=production")
    try:
        signer = load_signer(settings)
    except SigningKeyMissing as exc:
        raise SystemExit(str(exc)) from None
    open_database(settings)
    with database.atomic():
        added = apply_role_grants(settings.role_grants)
    if added:
        log.info("role grants applied", extra={"count": added})
    topology = Topology(settings.amqp_namespace, settings.amqp_quorum_queues, settings.retry_delays)
    outbox = Outbox(database, topology)
    relay = OutboxRelay(outbox, settings.amqp_url)
    consumer = MessageConsumer(
        queue="intake.history",
        handlers={
            "invite.state_changed": history_consumer.record_state_change,
            "invite.decision_refused": history_consumer.record_refusal,
        },
        amqp_url=settings.amqp_url,
        topology=topology,
        database=database,
        outbox=outbox,
        prefetch=settings.amqp_prefetch,
        # only approval's own events, through approval's exchange, enter the history
        check_source=True,
    )
    linker = HistoryLinker(signer)
    if settings.retention_days > 0:
        retention.start_hourly(settings.retention_days, signer)
    relay.start()
    linker.start()
    start_consumer_thread(consumer)
    app = create_app(settings, outbox, relay=relay)
    return IntakeService(app, outbox, relay, consumer, linker)

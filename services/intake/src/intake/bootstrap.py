"""Wire the intake service: database, role grants, outbox relay, history consumer, the web app."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field

from flask import Flask

from invite_common import db as dbmod
from invite_common.db import utcnow
from invite_common.config import Settings
from invite_common.consumer import MessageConsumer, start_consumer_thread
from invite_common.outbox import Outbox, OutboxRelay
from invite_common.topology import Topology

from intake import digest, history_consumer
from intake.app import create_app
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
    stopping: threading.Event = field(default_factory=threading.Event)

    def send_digests(self, settings: digest.DigestSettings, every: float) -> None:
        """Send the approvers' digest whenever one is due, until the service stops."""
        while not self.stopping.wait(every):
            try:
                digest.send_digest(self.outbox, settings, now=utcnow())
            except Exception:
                log.exception("approvers' digest failed; will try again")

    def stop(self) -> None:
        self.stopping.set()
        self.consumer.stop()
        self.relay.stop()


def start(settings: Settings) -> IntakeService:
    """Open the database, apply grants, start the relay and the history consumer; return the app."""
    if settings.env == "production" and settings.auth_mode == "dev":
        raise SystemExit("AUTH_MODE=dev is refused when ENV=production")
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
    )
    relay.start()
    start_consumer_thread(consumer)
    service = IntakeService(create_app(settings, outbox, relay=relay), outbox, relay, consumer)
    if settings.approver_digest_minutes > 0:  # 0 turns the digest off
        interval = dt.timedelta(minutes=settings.approver_digest_minutes)
        digests = digest.DigestSettings(interval, settings.request_expiry_days, f"{settings.portal_url}/approvals")
        # checking often is cheap (one indexed read); the digest itself goes out once per interval
        every = min(60.0, max(1.0, interval.total_seconds() / 4))
        threading.Thread(target=service.send_digests, args=(digests, every), name="digests", daemon=True).start()
    return service

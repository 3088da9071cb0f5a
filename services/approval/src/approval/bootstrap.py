"""Wire the approval service: database, outbox relay, consumers, adapters, health server."""
from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass, field

from invite_common import db as dbmod
from invite_common.config import Settings
from invite_common.consumer import MessageConsumer, start_consumer_thread
from invite_common.health import broker_check, database_check, serve_health
from invite_common.outbox import Outbox, OutboxRelay
from invite_common.topology import Topology

from approval import handlers, policy
from approval.db import database
from approval.directory import AccountDirectory, LocalDirectory
from approval.enrolment import DeviceEnrolment, LocalEnrolment
from approval.migrations import MIGRATIONS

log = logging.getLogger(__name__)


def topology_for(settings: Settings) -> Topology:
    return Topology(settings.amqp_namespace, settings.amqp_quorum_queues, settings.retry_delays)


def open_database(settings: Settings):
    """Bind approval's models to APPROVAL_DB_URL and bring its schema up to date."""
    return dbmod.open_database(settings.approval_db_url, database, MIGRATIONS)


def build_dependencies(
    settings: Settings, directory: AccountDirectory | None = None, enrolment: DeviceEnrolment | None = None
) -> handlers.Dependencies:
    try:
        rules = policy.load(settings.approval_policy)
    except policy.PolicyError as exc:
        # a policy that cannot be applied as written must stop the service, not be skipped silently
        raise SystemExit(f"APPROVAL_POLICY: {exc}") from None
    return handlers.Dependencies(
        outbox=Outbox(database, topology_for(settings)),
        directory=directory or LocalDirectory(),
        enrolment=enrolment or LocalEnrolment(settings.seed_enrolment_days),
        activation_url=settings.activation_url,
        request_expiry_days=settings.request_expiry_days,
        policy=rules,
    )


@dataclass
class ApprovalService:
    """The running pieces of one approval process."""

    settings: Settings
    deps: handlers.Dependencies
    relay: OutboxRelay
    consumers: list[MessageConsumer]
    threads: list[threading.Thread] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def metrics(self) -> dict[str, float]:
        out = {"approval_outbox_published_total": self.relay.published}
        for c in self.consumers:
            key = c.queue_name.replace(".", "_").replace("-", "_")
            out[f"{key}_handled_total"] = c.stats.handled
            out[f"{key}_duplicates_total"] = c.stats.duplicates
            out[f"{key}_retried_total"] = c.stats.retried
            out[f"{key}_dead_lettered_total"] = c.stats.dead_lettered
        return out

    def sweep_expired(self, every: float = 60.0) -> None:
        """Expire stale requests now and then, until the service stops."""
        while not self.stopping.wait(every):
            try:
                with database.atomic():
                    count = handlers.expire_stale(self.deps)
                if count:
                    self.deps.outbox.notify()
                    log.info("expired stale requests", extra={"count": count})
            except Exception:
                log.exception("expiry sweep failed; will try again")

    def stop(self) -> None:
        self.stopping.set()
        for c in self.consumers:
            c.stop()
        self.relay.stop()


def start(settings: Settings, directory: AccountDirectory | None = None, enrolment: DeviceEnrolment | None = None) -> ApprovalService:
    """Start every part of the approval service and return a handle on them."""
    open_database(settings)
    deps = build_dependencies(settings, directory, enrolment)
    topology = deps.outbox.topology
    bind = functools.partial

    def consumer(queue: str, table: dict) -> MessageConsumer:
        return MessageConsumer(
            queue=queue,
            handlers={t: bind(h, deps=deps) for t, h in table.items()},
            amqp_url=settings.amqp_url,
            topology=topology,
            database=database,
            outbox=deps.outbox,
            on_give_up=bind(handlers.fail_step, deps=deps),
            prefetch=settings.amqp_prefetch,
        )

    consumers = [
        consumer(
            "approval.workflow",
            {
                "invite.submitted": handlers.record_submission,
                "invite.cancelled": handlers.cancel,
                "invite.resend_requested": handlers.resend,
                "approval.decide": handlers.decide,
                "approval.advance": handlers.advance,
            },
        ),
        consumer(
            "approval.email-outcomes",
            {"email.sent": handlers.record_email_sent, "email.failed": handlers.record_email_failed},
        ),
    ]
    relay = OutboxRelay(deps.outbox, settings.amqp_url)
    service = ApprovalService(settings, deps, relay, consumers)
    relay.start()
    service.threads = [start_consumer_thread(c) for c in consumers]
    threading.Thread(target=service.sweep_expired, name="expiry", daemon=True).start()
    serve_health(
        settings.approval_bind,
        {"database": database_check(database), "broker": broker_check(settings.amqp_url)},
        service.metrics,
    )
    return service

"""The approval service as declared: its database, its two consumers, the expiry sweep, its adapters."""
from __future__ import annotations

import functools
import logging

from invite_common import db as dbmod
from invite_common import messages, runtime
from invite_common.config import Settings
from invite_common.outbox import Outbox

from approval import handlers
from approval.adapters.directory import AccountDirectory, LocalDirectory
from approval.adapters.enrolment import DeviceEnrolment, LocalEnrolment
from approval.db import database
from approval.migrations import MIGRATIONS

log = logging.getLogger(__name__)

EXPIRY_SWEEP_SECONDS = 60.0


def open_database(settings: Settings):
    """Bind approval's models to APPROVAL_DB_URL and bring its schema up to date."""
    return dbmod.open_database(settings.approval_db_url, database, MIGRATIONS)


def build_dependencies(
    settings: Settings, directory: AccountDirectory | None = None, enrolment: DeviceEnrolment | None = None
) -> handlers.Dependencies:
    """The handlers' outbox, adapters and settings; the local adapters unless others are given."""
    return handlers.Dependencies(
        outbox=Outbox(database, runtime.topology_for(settings)),
        directory=directory or LocalDirectory(),
        enrolment=enrolment or LocalEnrolment(settings.seed_enrolment_days),
        activation_url=settings.activation_url,
        request_expiry_days=settings.request_expiry_days,
    )


def sweep_expired(deps: handlers.Dependencies) -> None:
    """Expire the requests nobody decided on in time."""
    with database.atomic():
        count = handlers.expire_stale(deps)
    if count:
        deps.outbox.notify()
        log.info("expired stale requests", extra={"count": count})


def declare(settings: Settings, directory: AccountDirectory | None = None, enrolment: DeviceEnrolment | None = None) -> runtime.Service:
    """The approval service: what it consumes, what it runs in the background, where it answers."""
    deps = build_dependencies(settings, directory, enrolment)
    on = functools.partial
    return runtime.Service(
        name="approval",
        settings=settings,
        db_url=settings.approval_db_url,
        database=database,
        migrations=MIGRATIONS,
        outbox=deps.outbox,
        consumers={
            "approval.workflow": {
                messages.INVITE_SUBMITTED: on(handlers.record_submission, deps=deps),
                messages.INVITE_CANCELLED: on(handlers.cancel, deps=deps),
                messages.INVITE_RESEND_REQUESTED: on(handlers.resend, deps=deps),
                messages.APPROVAL_DECIDE: on(handlers.decide, deps=deps),
                messages.APPROVAL_ADVANCE: on(handlers.advance, deps=deps),
            },
            "approval.email-outcomes": {
                messages.EMAIL_SENT: on(handlers.record_email_sent, deps=deps),
                messages.EMAIL_FAILED: on(handlers.record_email_failed, deps=deps),
            },
        },
        on_give_up=on(handlers.fail_step, deps=deps),
        tasks=[runtime.Task("expiry", EXPIRY_SWEEP_SECONDS, on(sweep_expired, deps))],
        bind=settings.approval_bind,
    )


def start(settings: Settings, directory: AccountDirectory | None = None, enrolment: DeviceEnrolment | None = None) -> runtime.RunningService:
    """Start every part of the approval service and return a handle on them."""
    return runtime.start(declare(settings, directory, enrolment))

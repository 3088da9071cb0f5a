"""The intake service as declared: its database, role grants, the history consumer, the approvers'
digest, the web app."""
from __future__ import annotations

import datetime as dt
import logging

from invite_common import messages, runtime
from invite_common.config import Settings
from invite_common.db import utcnow
from invite_common.outbox import Outbox

from intake import digest, handlers
from intake.auth import settings as auth_settings
from intake.app import create_app
from intake.db import database
from intake.identity import apply_role_grants
from intake.migrations import MIGRATIONS

log = logging.getLogger(__name__)


def declare(settings: Settings) -> runtime.Service:
    """The intake service: role grants at start, the history consumer; the web app serves health."""

    def grant_roles() -> None:
        changes = apply_role_grants(settings.role_grants)
        if changes.granted or changes.revoked:
            log.info("ROLE_GRANTS applied", extra={"granted": len(changes.granted), "revoked": len(changes.revoked)})

    outbox = Outbox(database, runtime.topology_for(settings))
    return runtime.Service(
        name="intake",
        settings=settings,
        db_url=settings.intake_db_url,
        database=database,
        migrations=MIGRATIONS,
        outbox=outbox,
        consumers={
            "intake.history": {
                messages.INVITE_STATE_CHANGED: handlers.record_state_change,
                messages.INVITE_DECISION_REFUSED: handlers.record_refusal,
            },
        },
        startup=[grant_roles],
        tasks=digest_tasks(settings, outbox),
    )


def digest_tasks(settings: Settings, outbox: Outbox) -> list[runtime.Task]:
    """The approvers' digest as a background task, unless APPROVER_DIGEST_MINUTES is 0 (off)."""
    if settings.approver_digest_minutes <= 0:
        return []
    interval = dt.timedelta(minutes=settings.approver_digest_minutes)
    digests = digest.DigestSettings(interval, settings.request_expiry_days, f"{settings.portal_url}/approvals")

    def send() -> None:
        digest.send_digest(outbox, digests, now=utcnow())

    # checking is cheap (one indexed read) and the digest goes out once per interval whatever the checks
    every = min(60.0, max(1.0, interval.total_seconds() / 4))
    return [runtime.Task("digests", every, send)]


def start(settings: Settings) -> runtime.RunningService:
    """Refuse settings intake must not run with, start its relay and history consumer, build its web app (`.app`)."""
    auth_settings.check(settings)
    running = runtime.start(declare(settings))
    running.app = create_app(settings, running.outbox)
    return running

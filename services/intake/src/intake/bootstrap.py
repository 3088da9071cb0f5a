"""The intake service as declared: its database, role grants, the history consumer, the web app."""
from __future__ import annotations

import logging

from invite_common import messages, runtime
from invite_common.config import Settings
from invite_common.outbox import Outbox

from intake import handlers
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

    return runtime.Service(
        name="intake",
        settings=settings,
        db_url=settings.intake_db_url,
        database=database,
        migrations=MIGRATIONS,
        outbox=Outbox(database, runtime.topology_for(settings)),
        consumers={
            "intake.history": {
                messages.INVITE_STATE_CHANGED: handlers.record_state_change,
                messages.INVITE_DECISION_REFUSED: handlers.record_refusal,
            },
        },
        startup=[grant_roles],
    )


def start(settings: Settings) -> runtime.RunningService:
    """Refuse settings intake must not run with, start its relay and history consumer, build its web app (`.app`)."""
    auth_settings.check(settings)
    running = runtime.start(declare(settings))
    running.app = create_app(settings, running.outbox)
    return running

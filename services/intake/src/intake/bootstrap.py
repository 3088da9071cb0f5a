"""The intake service as declared: its database, role grants, the history consumer, the history
chain's linker and signer, retention, the approvers' digest, draft expiry, the web app."""
from __future__ import annotations

import datetime as dt
import functools
import logging

from invite_common import messages, runtime
from invite_common.config import Settings
from invite_common.db import utcnow
from invite_common.outbox import Outbox

from intake.approvals import digest, levels
from intake.history import consumer
from intake.web import metrics as http_metrics
from intake.web.health import BROKER_DOWN
from intake.auth import settings as auth_settings
from intake.app import create_app
from intake.audit import keys, retention
from intake.audit import metrics as chain_metrics
from intake.audit.keys import Signer, SigningKeyMissing, load_signer
from intake.audit.tasks import LINK_EVERY, VERIFY_CHECK_EVERY, ChainVerifier, HistoryChainKeeper
from intake.batches import expiry
from intake.limits import rates
from intake.db import database
from intake.auth.roles import apply_role_grants
from intake.migrations import MIGRATIONS
from intake.validation.rules import parse_org_domains

log = logging.getLogger(__name__)

HISTORY_QUEUE = "intake.history"
RETENTION_EVERY = 3600.0


def declare(settings: Settings, signer: Signer | None = None) -> runtime.Service:
    """The intake service: role grants at start, the history consumer, and (given the history's
    signing key) the chain keeper, its verifier and retention as background tasks; its metrics on a
    listener of their own (the web app, served apart, answers health on the portal's port too)."""
    tasks, closers, collectors = [], [], [*http_metrics.COLLECTORS, rates.LAPSED, *chain_metrics.chain_lag()]
    if signer is not None:
        keeper = HistoryChainKeeper(signer)
        tasks.append(runtime.Task("history-linker", LINK_EVERY, keeper.run_once))
        verifier = ChainVerifier(keys.verify_keys(settings), settings.db_url)
        tasks.append(runtime.Task("history-verifier", VERIFY_CHECK_EVERY, verifier.run_once))
        collectors.append(chain_metrics.VerificationCollector(verifier))
        # once the consumer has stopped: chain what it recorded and sign the last head
        closers.append(keeper.finish)
        if settings.retention_days > 0:
            tasks.append(runtime.Task("retention", RETENTION_EVERY,
                                      lambda: retention.erase_expired(settings.retention_days, signer)))

    def grant_roles() -> None:
        changes = apply_role_grants(settings.role_grants)
        if changes.granted or changes.revoked:
            log.info("ROLE_GRANTS applied", extra={"granted": len(changes.granted), "revoked": len(changes.revoked)})

    outbox = Outbox(database, runtime.topology_for(settings, "intake"))
    policy = levels.load_policy(settings.approval_policy)
    return runtime.Service(
        name="intake",
        settings=settings,
        db_url=settings.db_url,
        database=database,
        migrations=MIGRATIONS,
        outbox=outbox,
        consumers={
            HISTORY_QUEUE: {
                messages.INVITE_STATE_CHANGED: functools.partial(
                    consumer.record_state_change, policy=policy, org_domains=parse_org_domains(settings.org_email_domains)),
                messages.INVITE_DECISION_REFUSED: consumer.record_refusal,
            },
        },
        # only approval's own events, through approval's exchange, enter the history
        source_checked={HISTORY_QUEUE},
        startup=[grant_roles],
        tasks=tasks + digest_tasks(settings, outbox)
        + [runtime.Task("draft-expiry", expiry.SWEEP_SECONDS, lambda: expiry.sweep(settings.draft_expiry_days))],
        closers=closers,
        bind=settings.intake_metrics_bind,
        degraded={"broker": BROKER_DOWN},
        metrics=collectors,
    )


def digest_tasks(settings: Settings, outbox: Outbox) -> list[runtime.Task]:
    """The approvers' digest as a background task, unless APPROVER_DIGEST_MINUTES is 0 (off)."""
    if settings.approver_digest_minutes <= 0:
        return []
    interval = dt.timedelta(minutes=settings.approver_digest_minutes)
    digests = digest.DigestSettings(interval, settings.request_expiry_days, f"{settings.portal_url}/approvals",
                                    parse_org_domains(settings.org_email_domains))

    def send() -> None:
        digest.send_digest(outbox, digests, now=utcnow())

    # checking is cheap (one indexed read) and the digest goes out once per interval whatever the checks
    every = min(60.0, max(1.0, interval.total_seconds() / 4))
    return [runtime.Task("digests", every, send)]


def start(settings: Settings) -> runtime.RunningService:
    """Refuse settings intake must not run with; start its relay, history consumer and chain keeper; build its web app (`.app`)."""
    auth_settings.check(settings)
    try:
        signer = load_signer(settings)
    except SigningKeyMissing as exc:
        raise SystemExit(str(exc)) from None
    running = runtime.start(declare(settings, signer))
    running.app = create_app(settings, running.outbox, running.health)
    return running

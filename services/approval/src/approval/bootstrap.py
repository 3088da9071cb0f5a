"""The approval service as declared: its database, its two consumers and the step each message
runs, the expiry sweep, its adapters."""
from __future__ import annotations

import datetime as dt
import functools
import logging

import peewee
from invite_common import approval_policy
from invite_common import db as dbmod
from invite_common import messages, metrics, runtime
from invite_common.config import Settings
from invite_common.consumer import Handler, TwoPhaseHandler
from invite_common.messages import State, Step
from invite_common.outbox import Outbox
from invite_common.people import parse_domains

from approval import dispatch
from approval.dispatch import Automatic, Dependencies
from approval.adapters.directory import AccountDirectory, LocalDirectory
from approval.adapters.enrolment import DeviceEnrolment, LocalEnrolment
from approval.db import database
from approval.migrations import MIGRATIONS
from approval.steps import decision, expiry, failure, invitation, provisioning, seed, submission

log = logging.getLogger(__name__)

EXPIRY_SWEEP_SECONDS = 60.0

# approval.advance: the automatic step it names -> what runs it (the workflow says when each is due)
AUTOMATIC_STEPS = {
    # the directory is called outside the transaction (it may be a remote SCIM server)
    Step.PROVISION: Automatic(run=provisioning.provision, prepare=provisioning.create_account),
    Step.REQUEST_SEED: Automatic(run=seed.book_seed),
}


def open_database(settings: Settings):
    """Bind approval's models to APPROVAL_DB_URL and bring its schema up to date."""
    return dbmod.open_database(settings.db_url, database, MIGRATIONS, migrate=settings.env != "production",
                               service="approval")


def directory_for(settings: Settings) -> AccountDirectory:
    """The SCIM directory DIRECTORY_URL names, or the local one kept in approval's database."""
    if settings.directory_url:
        from approval.adapters.scim import ScimDirectory

        return ScimDirectory(settings.directory_url, settings.directory_token, timeout=settings.directory_timeout)
    return LocalDirectory()


def build_dependencies(
    settings: Settings, directory: AccountDirectory | None = None, enrolment: DeviceEnrolment | None = None
) -> Dependencies:
    """The steps' outbox, adapters, policy and settings; the local adapters unless others are given."""
    try:
        rules = approval_policy.load(settings.approval_policy)
    except approval_policy.PolicyError as exc:
        # a policy that cannot be applied as written must stop the service, not be skipped silently
        raise SystemExit(f"APPROVAL_POLICY: {exc}") from None
    return Dependencies(
        outbox=Outbox(database, runtime.topology_for(settings, "approval")),
        directory=directory or directory_for(settings),
        enrolment=enrolment or LocalEnrolment(settings.seed_enrolment_days),
        activation_url=settings.activation_url,
        request_expiry_days=settings.request_expiry_days,
        policy=rules,
        notify_requester_when_sent=settings.notify_requester_when_sent,
        org_domains=parse_domains(settings.org_email_domains),
    )


def sweep_expired(deps: Dependencies, now: dt.datetime | None = None) -> int:
    """Expire the requests nobody decided on in time (by `now`, the clock's unless given); return how many."""
    with database.atomic():
        count = dispatch.Bound(expiry.expire_stale, deps)(None, now=now)
    if count:
        deps.outbox.notify()
        log.info("expired stale requests", extra={"count": count})
    return count


def retry(deps: Dependencies, request_id: str, operator: str) -> str:
    """Run a failed request's step again at an operator's word; return the state it resumed in."""
    with database.atomic():
        return dispatch.Bound(failure.retry_failed, deps, "request_id", "operator")(None, request_id=request_id,
                                                                                    operator=operator)


def close(deps: Dependencies, request_id: str, operator: str, reason: str) -> bool:
    """Close a failed request at an operator's word, with the reason its requester is shown; False if closed already."""
    with database.atomic():
        return dispatch.Bound(failure.close_failed, deps, "request_id", "operator", "reason")(
            None, request_id=request_id, operator=operator, reason=reason)


def consumers(deps: Dependencies) -> dict[str, dict[str, Handler | TwoPhaseHandler]]:
    """Each queue approval consumes: message type -> the step that handles it."""
    on = dispatch.on_message
    return {
        "approval.workflow": {
            messages.INVITE_SUBMITTED: on(submission.record_submission, deps),
            messages.INVITE_CANCELLED: on(submission.cancel, deps),
            messages.INVITE_RESEND_REQUESTED: on(invitation.resend, deps),
            messages.APPROVAL_DECIDE: on(decision.decide, deps),
            messages.APPROVAL_ADVANCE: dispatch.advance(AUTOMATIC_STEPS, deps),
        },
        "approval.email-outcomes": {
            messages.EMAIL_SENT: on(invitation.record_email_sent, deps),
            messages.EMAIL_FAILED: on(invitation.record_email_failed, deps),
        },
    }


def requests_by_state() -> metrics.QueryCollector:
    """Requests in each workflow state, read from approval's database when scraped."""
    from approval.models import InviteRequest

    def counts():
        query = InviteRequest.select(InviteRequest.state, peewee.fn.COUNT(InviteRequest.id)).group_by(InviteRequest.state)
        found = dict(query.tuples())
        # every state is reported, 0 included, so an alert on `failed` sees it go back to 0
        return [((state,), found.get(state, 0)) for state in State.ALL]

    return metrics.QueryCollector(database, "invites_requests", "Invite requests by workflow state.", ["state"], counts)


def oldest_request_by_state() -> metrics.QueryCollector:
    """How long the oldest request in each open state has been in it, read from approval's database when scraped.

    Most states are left within seconds by an automatic step or the notifier's report; a request
    that stays in one (a message lost, a consumer gone) is seen here, as a count alone cannot show it."""
    from approval.models import InviteRequest

    open_states = [state for state in State.ALL if state not in State.FINAL]

    def ages():
        query = (InviteRequest.select(InviteRequest.state, peewee.fn.MIN(InviteRequest.updated_at))
                 .where(InviteRequest.state.in_(open_states)).group_by(InviteRequest.state))
        entered = {state: InviteRequest.updated_at.python_value(at) for state, at in query.tuples()}
        now = dbmod.utcnow()
        # every open state is reported, 0 when none waits in it, so an alert resolves when it empties
        return [((state,), (now - entered[state]).total_seconds() if state in entered else 0.0) for state in open_states]

    return metrics.QueryCollector(
        database, "invites_request_oldest_age_seconds",
        "How long the oldest request in each open workflow state has been in it (0 when none is).", ["state"], ages)


def declare(settings: Settings, directory: AccountDirectory | None = None, enrolment: DeviceEnrolment | None = None) -> runtime.Service:
    """The approval service: what it consumes, what it runs in the background, where it answers."""
    deps = build_dependencies(settings, directory, enrolment)
    return runtime.Service(
        name="approval",
        settings=settings,
        db_url=settings.db_url,
        database=database,
        migrations=MIGRATIONS,
        outbox=deps.outbox,
        consumers=consumers(deps),
        on_give_up=dispatch.on_give_up(failure.fail_step, deps),
        tasks=[runtime.Task("expiry", EXPIRY_SWEEP_SECONDS, functools.partial(sweep_expired, deps))],
        bind=settings.bind,
        metrics=[requests_by_state(), oldest_request_by_state()],
        closers=[deps.directory.close],
    )


def start(settings: Settings, directory: AccountDirectory | None = None, enrolment: DeviceEnrolment | None = None) -> runtime.RunningService:
    """Start every part of the approval service and return a handle on them."""
    return runtime.start(declare(settings, directory, enrolment))

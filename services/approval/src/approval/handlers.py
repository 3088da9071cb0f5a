"""What approval does with each message: decide, provision, book SEED, ask for emails, record outcomes.

Every handler runs inside the consumer's transaction; whatever it announces goes to the outbox
in that same transaction.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from invite_common.errors import PermanentError, TransientError
from invite_common import messages
from invite_common.messages import Decision, Envelope, State, Step, UserType, Verb, new_message
from invite_common.outbox import Outbox
from invite_common.people import parse_domains

from approval import workflow
from approval.adapters.directory import AccountDirectory, AccountExists, ProvisionedAccount
from approval.adapters.enrolment import DeviceEnrolment
from approval.policy import Policy
from invite_common.db import for_update, utcnow
from approval.models import InviteRequest, requests, transitions

log = logging.getLogger(__name__)

PRODUCER = "approval"
SYSTEM = "system"
# the actor of an approval given by an auto-approval rule; the rule's name is in the details
POLICY = "policy"


class RequestNotYetKnown(TransientError):
    """A message about a request whose submission has not arrived yet (it was retried out of order)."""


@dataclass
class Dependencies:
    """What the handlers need from outside: the outbox, the adapters and a few settings."""

    outbox: Outbox
    directory: AccountDirectory
    enrolment: DeviceEnrolment
    activation_url: str
    request_expiry_days: int = 14
    policy: Policy | None = None
    # email the requester once the invitation is out (the portal tells them in any case)
    notify_requester_when_sent: bool = False
    # ORG_EMAIL_DOMAINS: only an address in them decides on a request
    org_domains: tuple[str, ...] = parse_domains("gov.sg")


def _announce(deps: Dependencies, type_name: str, payload: dict, request_id: str, cause: str | None) -> None:
    deps.outbox.add(new_message(type_name, payload, correlation_id=request_id, producer=PRODUCER, causation_id=cause))


def move(
    deps: Dependencies,
    request: InviteRequest,
    verb: str,
    *,
    actor: str,
    note: str = "",
    details: dict | None = None,
    cause: str | None = None,
    before: list[dict] | None = None,
    hold: bool = False,
) -> dict:
    """Apply `verb` to `request` per the state machine, log the transition and announce it.

    `before` are earlier moves of this transaction that were held back (`hold`): they are
    announced with this one, as one `invite.state_changed` event. Returns the move.
    """
    previous = request.state
    target = workflow.next_state(previous, verb, failed_from=request.failed_from)
    now = utcnow()
    request.state = target
    if verb == Verb.FAIL:
        request.failed_from = previous  # where an operator's retry resumes
    elif verb == Verb.RETRY:
        request.failed_from = None
    request.seq += 1
    request.updated_at = now
    if not hold:  # a held move's columns are written with the next move's (or by its caller)
        requests.save_changes(request)
    transitions.insert({
        "request": request.id, "seq": request.seq, "from_state": previous, "to_state": target, "verb": verb,
        "actor": actor, "note": note or "", "at": now, "caused_by": cause,
    })
    step = {
        "seq": request.seq,
        "from_state": previous,
        "to_state": target,
        "verb": verb,
        "actor": actor,
        "note": note or "",
        "changed_at": now.isoformat(),
        "details": details or {},
    }
    if not hold:
        _announce_moves(deps, request, [*(before or []), step], cause)
    # debug: the transition table and the history already keep every move, and an INFO line for
    # each of them was a noticeable share of an invite's CPU
    log.debug("request moved", extra={"from": previous, "to": target, "verb": verb})
    return step


def _announce_moves(deps: Dependencies, request: InviteRequest, steps: list[dict], cause: str | None) -> None:
    first, *then = steps
    payload = {"request_id": request.id, **first}
    if then:
        payload["then"] = then
    _announce(deps, messages.INVITE_STATE_CHANGED, payload, request.id, cause)


def _load(request_id: str) -> InviteRequest:
    request = requests.get(lock=True, id=request_id)
    if request is None:
        raise RequestNotYetKnown(f"request {request_id} is not known yet")
    return request


def _refuse(deps: Dependencies, env: Envelope, request_id: str, decision: str, actor: str, error: str) -> None:
    log.warning("decision refused", extra={"decision": decision, "error": error})
    _announce(
        deps,
        messages.INVITE_DECISION_REFUSED,
        {"request_id": request_id, "decision": decision, "actor": actor, "error": error},
        request_id,
        env.message_id,
    )


# invite.submitted ---------------------------------------------------------------------------
def record_submission(env: Envelope, deps: Dependencies) -> None:
    """Take a new request into the workflow as `submitted`."""
    p = env.payload
    # insert-or-ignore: a request already known (a resubmitted message) is left as it is
    if not requests.insert({
        "id": p["request_id"],
        "method": p["method"],
        "requester": p["requester"],
        "email": p["email"],
        "user_type": p["user_type"],
        "username": p.get("username"),
        "first_name": p.get("first_name") or "",
        "last_name": p.get("last_name") or "",
        "organisation": p.get("organisation") or "",
        "department": p.get("department") or "",
        "contact_number": p.get("contact_number") or "",
        "seed_onboarding": p["seed_onboarding"],
        "offshore": p.get("offshore", False),
        "state": State.SUBMITTED,
        "submitted_at": dt.datetime.fromisoformat(p["submitted_at"]),
    }, ignore=True):
        return
    request = _load(p["request_id"])
    try:
        workflow.check_not_self_invitation(request.requester, request.email)
    except workflow.SelfInvitation as exc:
        # intake refuses these; a message put on the broker by other means is closed here
        move(deps, request, Verb.REJECT, actor=SYSTEM, note=str(exc), cause=env.message_id)
        return
    rule = deps.policy.first_match(request) if deps.policy else None
    if rule is not None:
        # a policy's approval provisions through approval.advance, with its own retries, whatever the directory
        move(
            deps, request, Verb.APPROVE, actor=POLICY, note=f"Approved by policy: {rule.name}",
            details={"policy": rule.name}, cause=env.message_id,
        )
        take_step(deps, request, workflow.step_after_approval(), env.message_id)


# invite.cancelled ---------------------------------------------------------------------------
def cancel(env: Envelope, deps: Dependencies) -> None:
    """Withdraw a pending request at its requester's wish."""
    p = env.payload
    request = _load(p["request_id"])
    if p["actor"].lower() != request.requester.lower():
        _refuse(deps, env, request.id, Decision.CANCEL, p["actor"], "only the requester can cancel a request")
        return
    try:
        move(deps, request, Verb.CANCEL, actor=p["actor"], note="cancelled by the requester", cause=env.message_id)
    except workflow.InvalidTransition as exc:
        _refuse(deps, env, request.id, Decision.CANCEL, p["actor"], str(exc))


# approval.decide ----------------------------------------------------------------------------
def decide(env: Envelope, deps: Dependencies) -> None:
    """Apply an approver's decision, re-checking who may decide (a public officer, not the requester
    nor the invitee) here whatever the sender."""
    p = env.payload
    request = _load(p["request_id"])
    actor, decision = p["actor"], p["decision"]
    try:
        workflow.check_public_officer(actor, deps.org_domains)
        workflow.check_not_requester(request.requester, actor)
        workflow.check_not_invitee(request.email, actor)
        if decision == Decision.APPROVE:
            approve(deps, request, actor=actor, note=p.get("comment") or "", cause=env.message_id)
        else:
            reason = (p.get("reason") or "").strip()
            if not reason:
                raise workflow.InvalidTransition("a rejection needs a reason")
            move(deps, request, Verb.REJECT, actor=actor, note=reason, cause=env.message_id)
            _send_email(
                deps, request, "rejection_notice", to=request.requester, send_key="rejection",
                context={"request_id": request.id, "invitee_email": request.email, "reason": reason, "decided_by": actor},
                cause=env.message_id,
            )
    except (workflow.InvalidTransition, workflow.SeparationOfDutiesViolation, workflow.NotAPublicOfficer) as exc:
        _refuse(deps, env, request.id, decision, actor, str(exc))


def approve(deps: Dependencies, request: InviteRequest, *, actor: str, note: str = "",
            details: dict | None = None, cause: str | None = None) -> None:
    """Approve a request at an approver's decision and start the step after approval.

    With a directory in approval's own database the account is made right here (see
    `_provision_now`), so approval and provisioning go out as one event; otherwise provisioning
    goes through `approval.advance` as usual."""
    approved = move(deps, request, Verb.APPROVE, actor=actor, note=note, details=details, cause=cause, hold=True)
    step = workflow.step_after_approval()
    if step == Step.PROVISION and deps.directory.provisions_in_transaction:
        _provision_now(deps, request, cause, approved)
    else:
        _announce_moves(deps, request, [approved], cause)
        take_step(deps, request, step, cause)
    requests.save_changes(request)  # whatever the moves above left unwritten


# approval.advance ---------------------------------------------------------------------------
def advance(env: Envelope, deps: Dependencies) -> None:
    """Run the automatic step the request is waiting for; a stale step changes nothing."""
    p = env.payload
    request = _load(p["request_id"])
    if p["step"] == Step.PROVISION and request.state == State.APPROVED:
        provision(deps, request, cause=env.message_id)
    elif p["step"] == Step.REQUEST_SEED and request.state == State.ACCOUNT_CREATED:
        book_seed(deps, request, cause=env.message_id)
    else:
        log.info("stale step ignored", extra={"step": p["step"], "state": request.state})


def _provision_now(deps: Dependencies, request: InviteRequest, cause: str | None, approved: dict) -> None:
    """Provision a request just approved (`approved`, the move not yet announced) in this transaction.

    A directory in approval's own database costs no outside call, so the account is created in
    the approval's own transaction and both moves go out as one event: one message, one
    transaction and one history update fewer per invite. A refusal (username taken, say) fails
    the request as an exhausted provisioning step would.
    """
    try:
        account = create_account(deps, request)
    except PermanentError as exc:
        move(deps, request, Verb.FAIL, actor=SYSTEM, note=f"{Step.PROVISION} failed: {exc}", cause=cause, before=[approved])
        return
    provision(deps, request, cause, account=account, before=[approved])


def prepare_advance(env: Envelope, deps: Dependencies) -> ProvisionedAccount | None:
    """Create the account outside any transaction: a directory's answer can take seconds.

    Creating is idempotent per request (the directory keys it on the request id), so running
    this again after a crash or a redelivery returns the same account.
    """
    p = env.payload
    request = InviteRequest.get_or_none(InviteRequest.id == p["request_id"])
    if p["step"] != Step.PROVISION or request is None or request.state != State.APPROVED:
        return None
    return create_account(deps, request)


def commit_advance(env: Envelope, account: ProvisionedAccount | None, deps: Dependencies) -> None:
    """Record the step `prepare_advance` ran, inside the consumer's transaction."""
    p = env.payload
    request = _load(p["request_id"])
    if p["step"] == Step.PROVISION and request.state == State.APPROVED:
        provision(deps, request, cause=env.message_id, account=account)
    else:
        advance(env, deps)


def create_account(deps: Dependencies, request: InviteRequest) -> ProvisionedAccount:
    """Ask the directory for the request's account (the same one however often it is asked).

    The directory is asked by email first: a person holds one account, so an account made for
    anything but this request is a permanent failure, never a second username."""
    held = deps.directory.find_by_email(request.email)
    # a directory that cannot say which request made an account (request_id None) tells its own
    # accounts apart when creating, and raises AccountExists itself
    if held is not None and held.request_id not in (None, request.id):
        raise AccountExists("the invitee already has a TechPass account; no second account was created")
    return deps.directory.create_account(
        request_id=request.id,
        username=request.username if request.user_type == UserType.VENDOR else None,
        email=request.email,
        first_name=request.first_name,
        last_name=request.last_name,
        user_type=request.user_type,
        organisation=request.organisation,
        department=request.department,
        contact_number=request.contact_number,
    )


def provision(deps: Dependencies, request: InviteRequest, cause: str | None,
              account: ProvisionedAccount | None = None, before: list[dict] | None = None) -> None:
    """Create the TechPass account (unless already created), then book SEED or ask for the invitation email.

    `before` are moves of this transaction held back to go out with the provision's (see `move`).
    """
    account = account or create_account(deps, request)
    request.username = account.username
    move(deps, request, Verb.PROVISION, actor=SYSTEM, details={"username": account.username}, cause=cause, before=before)
    take_step(deps, request, workflow.step_after_account(_needs_seed(request)), cause)


def _needs_seed(request: InviteRequest) -> bool:
    return workflow.needs_seed(request.user_type, request.seed_onboarding, request.offshore)


def take_step(deps: Dependencies, request: InviteRequest, step: str, cause: str | None) -> None:
    """Start the step the workflow chose: the invitation email is asked for at once; an automatic
    step goes through `approval.advance`, so its retries and giving up are the consumer's."""
    if step == workflow.SEND_INVITATION_EMAIL:
        send_invitation(deps, request, cause)
    else:
        _announce(deps, messages.APPROVAL_ADVANCE, {"request_id": request.id, "step": step}, request.id, cause)


def book_seed(deps: Dependencies, request: InviteRequest, cause: str | None) -> None:
    """Book the invitee's device for SEED onboarding, then ask for the invitation with its code."""
    enrolment = deps.enrolment.book(request.id, request.email, request.username or "")
    move(
        deps, request, Verb.REQUEST_SEED, actor=SYSTEM,
        details={"seed_expires_at": enrolment.expires_at.isoformat()}, cause=cause,
    )
    send_invitation(deps, request, cause)


def send_invitation(deps: Dependencies, request: InviteRequest, cause: str | None) -> None:
    """Ask the notifier for the invitation email (with SEED instructions and code when SEED is needed)."""
    enrolment = None
    if _needs_seed(request):
        # booking is idempotent per request: after book_seed, a resend or a retry, the same code
        enrolment = deps.enrolment.book(request.id, request.email, request.username or "")
    request.invitation_sends += 1
    requests.save_changes(request)
    context = {
        "request_id": request.id,
        "recipient_name": " ".join(x for x in (request.first_name, request.last_name) if x),
        "username": request.username or "",
        "requester_email": request.requester,
        "activation_url": deps.activation_url,
    }
    template = "invitation"
    if enrolment is not None:
        template = "invitation_seed"
        context |= {"seed_code": enrolment.code, "seed_expires_at": enrolment.expires_at.isoformat()}
    _send_email(deps, request, template, to=request.email, send_key=f"invitation-{request.invitation_sends}", context=context, cause=cause)


def resend(env: Envelope, deps: Dependencies) -> None:
    """Send an emailed invitation again at its requester's wish (the state stays `emailed`)."""
    p = env.payload
    request = _load(p["request_id"])
    if request.state != State.EMAILED:
        _refuse(deps, env, request.id, Decision.RESEND, p["actor"], f"cannot resend an invitation that is {request.state}")
        return
    if p["actor"].lower() != request.requester.lower():
        _refuse(deps, env, request.id, Decision.RESEND, p["actor"], "only the requester can ask for a resend")
        return
    send_invitation(deps, request, env.message_id)


def _send_email(deps: Dependencies, request: InviteRequest, template: str, *, to: str, send_key: str, context: dict, cause) -> None:
    _announce(
        deps,
        messages.NOTIFIER_SEND_EMAIL,
        {"request_id": request.id, "template": template, "to": to, "send_key": send_key, "context": context},
        request.id,
        cause,
    )


# email.sent / email.failed ------------------------------------------------------------------
def record_email_sent(env: Envelope, deps: Dependencies) -> None:
    """An invitation went out: the request is done (or, sent again, shows as delivered again)."""
    p = env.payload
    # notices (rejections, expiries, approvers' digests) change no request; a digest has none
    if not p["template"].startswith("invitation"):
        log.info("notice delivered", extra={"template": p["template"]})
        return
    request = _load(p["request_id"])
    details = {"smtp_message_id": p["smtp_message_id"]}
    if request.state in (State.ACCOUNT_CREATED, State.SEED_REQUESTED):
        move(deps, request, Verb.MARK_EMAILED, actor="notifier", details=details, cause=env.message_id)
        if deps.notify_requester_when_sent:
            _send_email(
                deps, request, "invitation_sent_notice", to=request.requester, send_key="sent",
                context={"request_id": request.id, "invitee_email": request.email}, cause=env.message_id,
            )
    elif request.state == State.EMAILED and p["send_key"] != "invitation-1":
        move(deps, request, Verb.RESEND, actor="notifier", details=details, cause=env.message_id)


def record_email_failed(env: Envelope, deps: Dependencies) -> None:
    """An invitation could not be delivered: the request fails until an operator retries it."""
    p = env.payload
    if not p["template"].startswith("invitation"):
        log.error("notice could not be delivered", extra={"template": p["template"], "error": p["error"]})
        return
    request = _load(p["request_id"])
    if request.state in (State.ACCOUNT_CREATED, State.SEED_REQUESTED):
        move(deps, request, Verb.FAIL, actor="notifier", note=f"email not delivered: {p['error']}", cause=env.message_id)


# giving up, expiry and operator retry -------------------------------------------------------
def fail_step(env: Envelope, exc: Exception, deps: Dependencies) -> None:
    """A step's retries are exhausted (or it can never succeed): record the request as failed."""
    request_id = env.payload.get("request_id")
    # locked like every other handler's read: a replica may be moving the same request right now
    request = requests.get(lock=True, id=request_id) if request_id else None
    if request is None:
        return
    if env.type == messages.APPROVAL_ADVANCE and request.state in workflow.TRANSITIONS[Verb.FAIL]:
        move(deps, request, Verb.FAIL, actor=SYSTEM, note=f"{env.payload['step']} failed: {exc}", cause=env.message_id)
    elif env.type == messages.APPROVAL_DECIDE and request.state == State.SUBMITTED:
        _refuse(deps, env, request.id, env.payload["decision"], env.payload["actor"], f"could not be applied: {exc}")


def expire_stale(deps: Dependencies, now: dt.datetime | None = None) -> int:
    """Expire requests nobody decided on within the allowed days; return how many."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=deps.request_expiry_days)
    # locked: every replica sweeps, and PostgreSQL re-checks the state of a row another one held
    stale = for_update(InviteRequest.select().where(
        (InviteRequest.state == State.SUBMITTED) & (InviteRequest.submitted_at < cutoff)
    ))
    count = 0
    for request in stale:
        move(deps, request, Verb.EXPIRE, actor=SYSTEM, note=f"no decision within {deps.request_expiry_days} days")
        # the requester learns it from an email, not only by looking at the portal
        _send_email(
            deps, request, "expiry_notice", to=request.requester, send_key="expiry",
            context={"request_id": request.id, "invitee_email": request.email, "expiry_days": deps.request_expiry_days},
            cause=None,
        )
        count += 1
    return count


def retry_failed(deps: Dependencies, request_id: str, operator: str) -> str:
    """Run a failed request's step again at an operator's word; return the state it resumed in."""
    request = for_update(InviteRequest.select().where(InviteRequest.id == request_id)).first()
    if request is None:
        raise LookupError(f"no request {request_id}")
    move(deps, request, Verb.RETRY, actor=operator, note="retried by an operator")
    take_step(deps, request, workflow.step_on_retry(request.state, _needs_seed(request)), None)
    return request.state

"""An approver's decision (`approval.decide`): who may decide is checked again here, whoever sent it."""
from __future__ import annotations

from invite_common.messages import Decision, Envelope, Step, Template, Verb

from approval import records, workflow
from approval.adapters.directory import AccountDirectory
from approval.adapters.enrolment import DeviceEnrolment
from approval.models import InviteRequest
from approval.moves import Moves
from approval.steps import next_step, provisioning


def decide(message: Envelope, moves: Moves, org_domains: tuple[str, ...], directory: AccountDirectory,
           enrolment: DeviceEnrolment, activation_url: str) -> None:
    """Apply an approver's decision, re-checking who may decide (a public officer, not the requester
    nor the invitee) here whatever the sender."""
    p = message.payload
    request = records.load_for_update(p["request_id"])
    actor, decision = p["actor"], p["decision"]
    try:
        workflow.check_public_officer(actor, org_domains)
        workflow.check_not_requester(request.requester, actor)
        workflow.check_not_invitee(request.email, actor)
        if decision == Decision.APPROVE:
            moves.move(request, Verb.APPROVE, actor=actor, note=p.get("comment") or "")
            start_after_approval(request, moves, directory, enrolment, activation_url)
        else:
            reject(request, moves, actor=actor, reason=(p.get("reason") or "").strip())
    except (workflow.InvalidTransition, workflow.SeparationOfDutiesViolation, workflow.NotAPublicOfficer) as exc:
        moves.refuse(request.id, decision, actor, str(exc))


def start_after_approval(request: InviteRequest, moves: Moves, directory: AccountDirectory, enrolment: DeviceEnrolment,
                         activation_url: str) -> None:
    """Start the step after an approver's approval.

    With a directory in approval's own database the account is made right here, in the
    approval's transaction: approval and provisioning go out as one event, one message, one
    transaction and one history update fewer per invite. Otherwise through `approval.advance`."""
    step = workflow.step_after_approval()
    if step == Step.PROVISION and directory.provisions_in_transaction:
        provisioning.provision_now(request, moves, directory, enrolment, activation_url)
    else:
        next_step.take(step, request, moves, enrolment, activation_url)


def reject(request: InviteRequest, moves: Moves, *, actor: str, reason: str) -> None:
    """Reject the request for `reason` (required) and tell its requester why."""
    if not reason:
        raise workflow.InvalidTransition("a rejection needs a reason")
    moves.move(request, Verb.REJECT, actor=actor, note=reason)
    moves.email(request, Template.REJECTION_NOTICE, to=request.requester, send_key="rejection",
                context={"request_id": request.id, "invitee_email": request.email, "reason": reason, "decided_by": actor})

"""An approver's decision (`approval.decide`) on the level a request waits in: who may decide is checked
again here, whoever sent it, against the deciders of its earlier levels approval recorded."""
from __future__ import annotations

from invite_common.messages import Decision, Envelope, State, Step, Template, Verb

from approval import levels, records, workflow
from approval.adapters.directory import AccountDirectory
from approval.adapters.enrolment import DeviceEnrolment
from approval.models import InviteRequest
from approval.moves import Moves
from approval.steps import next_step, provisioning


def decide(message: Envelope, moves: Moves, org_domains: tuple[str, ...], directory: AccountDirectory,
           enrolment: DeviceEnrolment, activation_url: str) -> None:
    """Apply an approver's decision on the level the request waits in, re-checking who may decide here
    whatever the sender: a public officer, neither the requester nor the invitee nor a decider of an
    earlier level; a stand-in's decision holds both them and the approver they stand in for to it."""
    p = message.payload
    request = records.load_for_update(p["request_id"])
    actor, decision, absent = p["actor"], p["decision"], p.get("on_behalf_of")
    try:
        earlier = levels.deciders(request)
        for person in (actor, absent) if absent else (actor,):
            workflow.check_public_officer(person, org_domains)
            workflow.check_may_decide(request.requester, request.email, earlier, person)
        level = levels.current(request)
        if request.state == State.SUBMITTED and p.get("level") and p["level"] != level:
            raise workflow.InvalidTransition(f"the request waits in level {level!r} now, not {p['level']!r}")
        details = {"level": level} | ({"on_behalf_of": absent} if absent else {})
        if decision == Decision.REJECT:
            reject(request, moves, actor=actor, reason=(p.get("reason") or "").strip(), details=details)
        elif not levels.is_last(request):
            levels.move_on(request, moves, actor=actor, note=p.get("comment") or "", details=details)
            levels.record_deciders(request, actor, absent)
            if levels.pass_levels_approved_by_rules(request, moves):
                moves.start_step(request, workflow.step_after_approval())
        else:
            moves.move(request, Verb.APPROVE, actor=actor, note=p.get("comment") or "", details=details)
            start_after_approval(request, moves, directory, enrolment, activation_url)
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


def reject(request: InviteRequest, moves: Moves, *, actor: str, reason: str, details: dict | None = None) -> None:
    """Reject the request for `reason` (required) and tell its requester why: a rejection at any level ends it."""
    if not reason:
        raise workflow.InvalidTransition("a rejection needs a reason")
    moves.move(request, Verb.REJECT, actor=actor, note=reason, details=details)
    moves.email(request, Template.REJECTION_NOTICE, to=request.requester, send_key="rejection",
                context={"request_id": request.id, "invitee_email": request.email, "reason": reason, "decided_by": actor})

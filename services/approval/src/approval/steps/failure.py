"""A failed step: its request fails once its retries are exhausted; an operator runs the step again, or closes the request."""
from __future__ import annotations

from invite_common import messages
from invite_common.messages import Envelope, State, Template, Verb

from approval import records, workflow
from approval.adapters.enrolment import DeviceEnrolment
from approval.moves import SYSTEM, Moves
from approval.steps import invitation, next_step


def fail_step(message: Envelope, error: Exception, moves: Moves) -> None:
    """A step's retries are exhausted (or it can never succeed): record the request as failed."""
    p = message.payload
    # locked like every other handler's read: a replica may be moving the same request right now
    request = records.lock_request(p["request_id"]) if p.get("request_id") else None
    if request is None:
        return
    if message.type == messages.APPROVAL_ADVANCE and request.state in workflow.TRANSITIONS[Verb.FAIL]:
        moves.move(request, Verb.FAIL, actor=SYSTEM, note=f"{p['step']} failed: {error}")
    elif message.type == messages.APPROVAL_DECIDE and request.state in workflow.AWAITING_DECISION:
        moves.refuse(request.id, p["decision"], p["actor"], f"could not be applied: {error}")


def retry_failed(request_id: str, operator: str, moves: Moves, enrolment: DeviceEnrolment, activation_url: str) -> str:
    """Run a failed request's step again at an operator's word; return the state it resumed in."""
    request = records.lock_request(request_id)
    if request is None:
        raise LookupError(f"no request {request_id}")
    moves.move(request, Verb.RETRY, actor=operator, note="retried by an operator")
    step = workflow.step_on_retry(request.state, invitation.needs_seed(request))
    next_step.take(step, request, moves, enrolment, activation_url)
    return request.state


def close_failed(request_id: str, operator: str, reason: str, moves: Moves) -> bool:
    """Close a failed request for good at an operator's word, telling its requester why; False if it was closed already.

    Closing twice changes nothing (no second move, no second email): an operator may run the
    command again when unsure whether the first run went through."""
    reason = workflow.check_closing_reason(reason)
    request = records.lock_request(request_id)
    if request is None:
        raise LookupError(f"no request {request_id}")
    if request.state == State.CLOSED:
        return False
    try:
        moves.move(request, Verb.CLOSE, actor=operator, note=reason)
    except workflow.InvalidTransition:
        raise workflow.InvalidTransition(
            f"request {request_id} is {request.state}: only a failed request can be closed") from None
    moves.email(request, Template.CLOSURE_NOTICE, to=request.requester, send_key="closure",
                context={"request_id": request.id, "invitee_email": request.email, "reason": reason})
    return True

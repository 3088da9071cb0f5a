"""A failed step: its request fails once its retries are exhausted, and runs it again at an operator's word."""
from __future__ import annotations

from invite_common import messages
from invite_common.messages import Envelope, Verb

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

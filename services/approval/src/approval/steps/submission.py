"""A request enters the workflow (`invite.submitted`), or leaves it at its requester's wish (`invite.cancelled`)."""
from __future__ import annotations

import datetime as dt

from invite_common.messages import Decision, Envelope, State, Verb

from approval import records, workflow
from approval.moves import POLICY, SYSTEM, Moves
from approval.policy import Policy


def record_submission(message: Envelope, moves: Moves, policy: Policy | None) -> None:
    """Take a new request into the workflow as `submitted`, approved at once if a policy rule matches it."""
    p = message.payload
    # insert-or-ignore: a request already known (a resubmitted message) is left as it is
    if not records.add_request({
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
    }):
        return
    request = records.load_for_update(p["request_id"])
    try:
        workflow.check_not_self_invitation(request.requester, request.email)
    except workflow.SelfInvitation as exc:
        # intake refuses these; a message put on the broker by other means is closed here
        moves.move(request, Verb.REJECT, actor=SYSTEM, note=str(exc))
        return
    rule = policy.first_match(request) if policy else None
    if rule is not None:
        moves.move(request, Verb.APPROVE, actor=POLICY, note=f"Approved by policy: {rule.name}",
                   details={"policy": rule.name})
        # a policy's approval provisions through approval.advance, with its own retries, whatever the directory
        moves.start_step(request, workflow.step_after_approval())


def cancel(message: Envelope, moves: Moves) -> None:
    """Withdraw a pending request at its requester's wish."""
    p = message.payload
    request = records.load_for_update(p["request_id"])
    if p["actor"].lower() != request.requester.lower():
        moves.refuse(request.id, Decision.CANCEL, p["actor"], "only the requester can cancel a request")
        return
    try:
        moves.move(request, Verb.CANCEL, actor=p["actor"], note="cancelled by the requester")
    except workflow.InvalidTransition as exc:
        moves.refuse(request.id, Decision.CANCEL, p["actor"], str(exc))

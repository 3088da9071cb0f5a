"""A request enters the workflow (`invite.submitted`), or leaves it at its requester's wish (`invite.cancelled`)."""
from __future__ import annotations

import datetime as dt

from invite_common.messages import Decision, Envelope, State, Verb

from invite_common.approval_policy import Policy

from approval import levels, records, workflow
from approval.moves import SYSTEM, Moves


def record_submission(message: Envelope, moves: Moves, policy: Policy) -> None:
    """Take a new request into the workflow as `submitted`, in the first of the levels the policy routes it
    through that a person decides; the levels an auto-approval rule approves are passed in the rule's name."""
    p = message.payload
    route = policy.route(_Submitted(p))
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
        "levels": levels.encode(route),
        "level": 0,
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
    if levels.pass_levels_approved_by_rules(request, moves):
        # a policy's approval provisions through approval.advance, with its own retries, whatever the directory
        moves.start_step(request, workflow.step_after_approval())


class _Submitted:
    """A submission's payload as the policy asks about a request (`request.offshore`, ...)."""

    __slots__ = ("_payload",)

    def __init__(self, payload: dict) -> None:
        self._payload = payload

    def __getattr__(self, name: str):
        return self._payload.get(name)


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

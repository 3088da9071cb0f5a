"""Why a request an approver selected is no longer waiting for their decision, in the words a page shows."""
from __future__ import annotations

from invite_common.messages import Decision
from invite_common.people import same_person

from intake import lifecycle
from intake.auth.identity import Caller
from intake.models import HistoryEntry, InviteRequest


def _decider(invite: InviteRequest, decision: str, state: str) -> str | None:
    """Who decided the request: the claim's actor while approval applies it, then the history's entry."""
    if invite.pending_action == decision:
        return invite.pending_actor
    entry = (HistoryEntry.select(HistoryEntry.actor)
             .where((HistoryEntry.request_id == invite.id) & (HistoryEntry.to_state == state))
             .order_by(HistoryEntry.id.desc()).first())
    return entry.actor if entry else None


def why_not_waiting(invite: InviteRequest | None, caller: Caller) -> str | None:
    """Why `invite` is not waiting for `caller`'s decision, or None if it is."""
    if invite is None:
        return "No such request"
    if same_person(invite.requester, caller.email):
        return "You made this request: another approver decides on it"
    if same_person(invite.email, caller.email):
        return "This request invites you: another approver decides on it"
    if lifecycle.awaiting_decision(invite):
        return None
    if lifecycle.being_cancelled(invite) or invite.state == lifecycle.CANCELLED:
        return "Cancelled by its requester"
    if invite.state == lifecycle.EXPIRED:
        return "Expired before anyone decided on it"
    rejected = invite.pending_action == Decision.REJECT or invite.state == lifecycle.REJECTED
    decider = _decider(invite, *((Decision.REJECT, lifecycle.REJECTED) if rejected else (Decision.APPROVE, lifecycle.APPROVED)))
    by_you = bool(decider) and same_person(decider, caller.email)
    if rejected:
        return "Already rejected by you" if by_you else "Already rejected by another approver"
    return "Already approved by you" if by_you else "Already approved by another approver"

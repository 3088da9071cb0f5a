"""Why a request an approver selected is no longer waiting for their decision, in the words a page shows."""
from __future__ import annotations

from invite_common.messages import Decision, State
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
    if lifecycle.being_cancelled(invite) or invite.state == State.CANCELLED:
        return "Cancelled by its requester"
    if invite.state == State.EXPIRED:
        return "Expired before anyone decided on it"
    rejected = invite.pending_action == Decision.REJECT or invite.state == State.REJECTED
    decider = _decider(invite, *((Decision.REJECT, State.REJECTED) if rejected else (Decision.APPROVE, State.APPROVED)))
    word = "rejected" if rejected else "approved"
    if decider and same_person(decider, caller.email):
        return f"Already {word} by you"
    return f"Already {word} by another approver"

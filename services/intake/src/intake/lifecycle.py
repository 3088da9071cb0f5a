"""A request's lifecycle as intake asks about it: every question about a request's state, answered here once.

Approval owns the lifecycle (`approval.workflow`: the states and the verbs between them); intake
reads the states approval reports (invite_common.messages.State) and adds one thing of its own: a
decision or cancellation accepted here and sent to approval but not yet applied there, held in the
request's `pending_action` until approval's next event about it. Pages, the API, claims, the digest,
the history consumer, the rules, the quotas and retention ask here instead of naming states;
tests/intake/test_lifecycle.py holds these answers to approval's table.
"""
from __future__ import annotations

import datetime as dt

import peewee

from invite_common.messages import Decision, State

from intake.models import InviteRequest

STATES: tuple[str, ...] = State.ALL

# A new request, until an approver decides, its requester cancels it or it expires: the only
# state decisions and cancellations leave from, and the only one that expires.
SUBMITTED = State.SUBMITTED
# Approved, the invitation not sent yet: approval is creating the account, booking SEED, emailing.
IN_FLIGHT: tuple[str, ...] = (State.APPROVED, State.ACCOUNT_CREATED, State.SEED_REQUESTED)
# The invitee's TechPass account exists, made by this request: nobody is invited twice.
HOLDS_ACCOUNT: tuple[str, ...] = (State.ACCOUNT_CREATED, State.SEED_REQUESTED, State.EMAILED)
# Ended without the invitation, possibly after the account was made (SEED booking or the email
# failed): such a request made the account if its history passed through one of HOLDS_ACCOUNT.
MAY_HAVE_MADE_ACCOUNT: tuple[str, ...] = (State.FAILED, State.CLOSED)
# Over for good: the request no longer holds its invitee's address or username. `failed` is not
# among them: an operator's retry brings it back to life (or their close makes it `closed`).
FINISHED: frozenset[str] = State.FINAL
# The invitation went out: the requester may have it sent again.
SENT = State.EMAILED
# The state an approval's decision leaves a request in, before the account is made.
APPROVED = State.APPROVED
REJECTED = State.REJECTED
CANCELLED = State.CANCELLED
EXPIRED = State.EXPIRED
FAILED = State.FAILED
# A failed request an operator gave up on: its history's closing entry says why.
CLOSED = State.CLOSED
# What a requester wants to hear of without opening each request, and what needs their attention.
OUTCOMES: tuple[str, ...] = (State.EMAILED, State.REJECTED, State.EXPIRED, State.FAILED, State.CLOSED)
NEEDS_ATTENTION: tuple[str, ...] = (State.FAILED, State.REJECTED)
# Ended, or stopped, without the invitation: its requester may ask again from its answers (a failed
# request waits for an operator, but its requester need not wait with it).
ENDED_UNSENT: tuple[str, ...] = (State.REJECTED, State.CANCELLED, State.EXPIRED, State.FAILED, State.CLOSED)

# The groups of states a requester thinks in: the overview counts them, the status page filters by them.
REQUESTER_GROUPS: dict[str, tuple[str, ...]] = {
    "pending": (SUBMITTED,),
    "in_progress": IN_FLIGHT,
    SENT: (SENT,),
    "attention": NEEDS_ATTENTION,
}


def is_undecided(invite) -> bool:
    """Tell whether approval has not yet decided the request (a decision may be on its way)."""
    return invite.state == SUBMITTED


def awaiting_decision(invite) -> bool:
    """Tell whether the request waits for a decision: undecided, and none accepted here yet.

    Only such a request can be decided or cancelled (claims take it in one statement, `invites.store`)."""
    return invite.state == SUBMITTED and invite.pending_action is None


def action_in_flight(invite) -> bool:
    """Tell whether a decision or cancellation accepted here is on its way to approval."""
    return invite.pending_action is not None


def being_cancelled(invite) -> bool:
    """Tell whether the requester's cancellation is on its way to approval."""
    return invite.pending_action == Decision.CANCEL


# The actors of what approval does by itself, and of an approval by an auto-approval rule.
BY_SYSTEM = "system"
BY_POLICY = "policy"

# Why a request can no longer be cancelled, as a bulk cancellation names it for each request.
ALREADY_CANCELLED = "already_cancelled"
ALREADY_APPROVED = "already_approved"
ALREADY_REJECTED = "already_rejected"
ALREADY_EXPIRED = "already_expired"
NO_LONGER_PENDING = "no_longer_pending"
# Every state a request reaches only once it was approved (by an approver or by the approval policy).
AFTER_APPROVAL: tuple[str, ...] = IN_FLIGHT + (State.EMAILED, State.FAILED, State.CLOSED)
_REFUSED_BY_STATE = {CANCELLED: ALREADY_CANCELLED, REJECTED: ALREADY_REJECTED, EXPIRED: ALREADY_EXPIRED} | {
    state: ALREADY_APPROVED for state in AFTER_APPROVAL}
_REFUSED_BY_ACTION = {Decision.CANCEL: ALREADY_CANCELLED, Decision.APPROVE: ALREADY_APPROVED,
                      Decision.REJECT: ALREADY_REJECTED}


def cancel_refused_because(invite) -> str:
    """Why the request cannot be cancelled: it is already cancelled, approved or rejected (accepted
    here and on its way to approval, or applied there), or it expired; NO_LONGER_PENDING otherwise."""
    if invite.pending_action is not None:
        return _REFUSED_BY_ACTION.get(invite.pending_action, NO_LONGER_PENDING)
    return _REFUSED_BY_STATE.get(invite.state, NO_LONGER_PENDING)


def can_resend(invite) -> bool:
    """Tell whether the invitation may be sent again: only one that was sent."""
    return invite.state == SENT


def holds_account(state: str) -> bool:
    """Tell whether a request in `state` made its invitee's account."""
    return state in HOLDS_ACCOUNT


def is_finished(state: str) -> bool:
    """Tell whether a request in `state` is closed for good."""
    return state in FINISHED


def can_request_again(invite) -> bool:
    """Tell whether the request ended without its invitation, so that its requester may make it again."""
    return invite.state in ENDED_UNSENT


def ending_entry(invite, entries: list[dict]) -> dict | None:
    """The history entry that moved a request ended without its invitation into its state (its note says
    why: the rejection's reason, the error, the operator's reason); None for any other request."""
    if invite.state not in ENDED_UNSENT:
        return None
    # an entry that keeps the state (a refused decision, a later request's link) did not end it
    return next((e for e in reversed(entries) if e["to_state"] == invite.state and e.get("from_state") != invite.state),
                None)


def expires_at(invite, expiry_days: int) -> dt.datetime:
    """When an undecided request expires unless someone decides on it (approval counts from submission)."""
    return invite.created_at + dt.timedelta(days=expiry_days)


def awaiting_decision_query() -> peewee.ModelSelect:
    """Every request waiting for a decision (none accepted yet), as `awaiting_decision` says."""
    return InviteRequest.select().where((InviteRequest.state == SUBMITTED) & InviteRequest.pending_action.is_null())

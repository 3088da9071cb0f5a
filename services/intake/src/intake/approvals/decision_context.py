"""What an approver should know before deciding: earlier requests for the same invitee, and warnings."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from invite_common.db import utcnow
from invite_common.messages import UserType
from invite_common.people import person_key, same_person

from intake import lifecycle
from intake.approvals import levels
from intake.auth.identity import Caller
from intake.errors import Forbidden
from intake.models import InviteRequest
from intake.validation.rules import in_org_domains

# a request this close to its expiry is flagged, so an approver takes it before it lapses
EXPIRES_SOON = dt.timedelta(days=2)
# the earlier requests for the invitee shown at most
EARLIER_SHOWN = 10


def earlier_requests(invite: InviteRequest) -> list[InviteRequest]:
    """Other requests for the same invitee (at any of their addresses), newest first (rejected, expired, emailed, ...)."""
    # a request the previous version stored during a rollout has no key: its address is compared
    same = (InviteRequest.invitee_key == person_key(invite.email)) | (
        InviteRequest.invitee_key.is_null() & (InviteRequest.email == invite.email))
    return list(
        InviteRequest.select()
        .where(same & (InviteRequest.id != invite.id))
        .order_by(InviteRequest.created_at.desc())
        .limit(EARLIER_SHOWN)
    )


@dataclass(frozen=True)
class DecisionContext:
    """The request's surroundings, as the approver's request page shows them."""

    earlier: list[InviteRequest]
    warnings: list[str]
    expires_at: dt.datetime | None
    blocked_because: str | None  # why this approver may not decide here, or None


def warnings_for(invite: InviteRequest, earlier: list[InviteRequest], org_domains, expires_at, now) -> list[str]:
    """Plain-words warnings about a request an approver is about to decide."""
    found = []
    domain = invite.email.rpartition("@")[2]
    if invite.user_type == UserType.VENDOR and in_org_domains(domain, org_domains):
        found.append("A vendor with a public-officer address: check this person is not a public officer, "
                     "or that the address was typed correctly.")
    if any(lifecycle.holds_account(e.state) for e in earlier):
        found.append("This person already has an account: an earlier request created it.")
    rejected = sum(1 for e in earlier if e.state == lifecycle.REJECTED)
    if rejected:
        found.append(f"Requests for this person were rejected {rejected} time{'s' if rejected > 1 else ''} before.")
    if invite.offshore:
        found.append("An offshore vendor: their device will be booked for SEED onboarding whatever was asked.")
    if expires_at is not None and expires_at - now <= EXPIRES_SOON:
        found.append("This request expires soon: decide on it before it lapses.")
    return found


def warnings_by_request(invites: list[InviteRequest], org_domains, expiry_days: int, now=None) -> dict[str, list[str]]:
    """The request page's warnings (`warnings_for`) for each of `invites`, by id: the queue shows them on its
    rows. The invitees' earlier requests are read in one query, then each request gets those
    `earlier_requests` would give it."""
    now = now or utcnow()
    if not invites:
        return {}
    keys = {person_key(i.email) for i in invites}
    emails = {i.email for i in invites}
    others = list(
        InviteRequest.select(InviteRequest.id, InviteRequest.email, InviteRequest.invitee_key, InviteRequest.state,
                             InviteRequest.created_at)
        .where(InviteRequest.invitee_key.in_(keys) | (InviteRequest.invitee_key.is_null() & InviteRequest.email.in_(emails)))
        .order_by(InviteRequest.created_at.desc())
    )
    found = {}
    for invite in invites:
        key = person_key(invite.email)
        earlier = [o for o in others if o.id != invite.id
                   and (o.invitee_key == key or (o.invitee_key is None and o.email == invite.email))][:EARLIER_SHOWN]
        undecided = lifecycle.is_undecided(invite)
        expires = lifecycle.expires_at(invite, expiry_days) if undecided else None
        found[invite.id] = warnings_for(invite, earlier, org_domains, expires, now) if undecided else []
    return found


def for_approver(invite: InviteRequest, caller: Caller, org_domains, expiry_days: int, now=None) -> DecisionContext:
    """Everything the approver's request page shows around the request itself."""
    now = now or utcnow()
    earlier = earlier_requests(invite)
    undecided = lifecycle.is_undecided(invite)
    expires = lifecycle.expires_at(invite, expiry_days) if undecided else None
    blocked = None
    if same_person(invite.requester, caller.email):
        blocked = "You made this request, so another approver decides on it."
    elif same_person(invite.email, caller.email):
        blocked = "This request invites you, so another approver decides on it."
    elif undecided:
        # the level it waits in may not be theirs: a decider of an earlier level, another role, another agency
        try:
            levels.acting_as(invite, caller.email, caller.roles, now)
        except Forbidden as exc:
            blocked = str(exc)
    return DecisionContext(earlier, warnings_for(invite, earlier, org_domains, expires, now) if undecided else [], expires, blocked)


# How a batch's summary names each of `warnings_for`'s warnings, by how the warning begins.
SUMMARY_WORDS = (
    ("A vendor with a public-officer address", "vendor at a public-officer address", "vendors at public-officer addresses"),
    ("An offshore vendor", "offshore vendor", "offshore vendors"),
    ("Requests for this person were rejected", "invitee rejected before", "invitees rejected before"),
    ("This person already has an account", "invitee who already has an account", "invitees who already have accounts"),
    ("This request expires soon", "request expiring soon", "requests expiring soon"),
)


def warnings_summary(warnings: dict[str, list[str]]) -> list[str]:
    """How many of the requests carry each kind of warning (`warnings_by_request`'s), in plain words:
    "2 vendors at public-officer addresses"."""
    summary = []
    for start, one, many in SUMMARY_WORDS:
        count = sum(1 for found in warnings.values() if any(w.startswith(start) for w in found))
        if count:
            summary.append(f"{count} {one if count == 1 else many}")
    return summary

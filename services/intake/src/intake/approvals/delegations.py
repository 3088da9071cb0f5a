"""Approvers' stand-ins: an approver names a person and a period; while it runs, the requests at the approver's
levels reach the stand-in too, and a decision the stand-in takes there is recorded as theirs for the approver
("bob for dave"), both held to separation of duties (approvals/levels.py).

An approver names their own stand-in, no administrator needed. The stand-in need not hold a role already,
but must be someone who may hold the approver's (a public officer, auth/roles.may_hold). A stand-in decides
with the roles the approver held when naming them, never with roles delegated to the approver: a stand-in
cannot pass a delegation on. Naming and ending a stand-in are in the history auditors read, under one key
of their own (they belong to no request), as role changes are.
"""
from __future__ import annotations

import datetime as dt
import uuid

from invite_common import dates
from invite_common.db import utcnow
from invite_common.people import same_person

from intake import history
from intake.auth import roles
from intake.errors import Conflict, Forbidden, InvalidInput, NotFound
from intake.models import Delegation

DELEGATION_HISTORY_KEY = "delegations"
NAMED, ENDED = "stand_in_named", "stand_in_ended"
# the longest a stand-in may be named for at once: a longer absence is a role change for an administrator
LONGEST = dt.timedelta(days=90)


def roles_of(delegation: Delegation) -> frozenset[str]:
    """The deciding roles the approver held when naming the stand-in: those the stand-in decides with."""
    return frozenset(delegation.roles.split())


def running_for(stand_in: str, now: dt.datetime) -> list[Delegation]:
    """The delegations to `stand_in` running at `now` (named, begun, not over, not ended early)."""
    return list(Delegation.select().where(
        (Delegation.stand_in == stand_in.strip().lower()) & (Delegation.starts_at <= now) & (Delegation.ends_at > now)
        & Delegation.ended_at.is_null()))


def stand_ins_running(now: dt.datetime) -> list[str]:
    """Everyone standing in for an approver at `now`, by address."""
    return sorted({d.stand_in for d in Delegation.select(Delegation.stand_in).where(
        (Delegation.starts_at <= now) & (Delegation.ends_at > now) & Delegation.ended_at.is_null())})


def of_approver(approver: str, now: dt.datetime) -> list[Delegation]:
    """The approver's stand-ins that have not ended (running or to come), soonest first."""
    return list(Delegation.select().where(
        (Delegation.approver == approver.strip().lower()) & (Delegation.ends_at > now) & Delegation.ended_at.is_null())
        .order_by(Delegation.starts_at, Delegation.id))


def to_person(stand_in: str, now: dt.datetime) -> list[Delegation]:
    """The delegations to `stand_in` that have not ended (running or to come), soonest first."""
    return list(Delegation.select().where(
        (Delegation.stand_in == stand_in.strip().lower()) & (Delegation.ends_at > now) & Delegation.ended_at.is_null())
        .order_by(Delegation.starts_at, Delegation.id))


def _record(event: str, delegation: Delegation, actor: str, at: dt.datetime) -> None:
    history.append(
        DELEGATION_HISTORY_KEY, event, actor=actor, at=at,
        note=f"{delegation.stand_in} for {delegation.approver}",
        details={"delegation": delegation.id, "approver": delegation.approver, "stand_in": delegation.stand_in,
                 "roles": sorted(roles_of(delegation)), "starts_at": delegation.starts_at.isoformat(),
                 "ends_at": delegation.ends_at.isoformat()})


def name_stand_in(approver: str, held: frozenset[str], stand_in: str, starts_at: dt.datetime, ends_at: dt.datetime,
                  org_domains: tuple[str, ...], now: dt.datetime | None = None) -> Delegation:
    """Name `stand_in` for `approver` (holding `held`) from `starts_at` to `ends_at`; call inside a transaction.

    Refused (InvalidInput naming the field) when the stand-in is the approver or cannot hold the approver's roles,
    or the period is empty, over already or too long; Conflict when it overlaps a stand-in already named."""
    now = now or utcnow()
    approver, stand_in = approver.strip().lower(), stand_in.strip().lower()
    deciding = sorted(set(held) & set(roles.DECIDING))
    if not deciding:
        raise Forbidden("Only someone who decides requests can name a stand-in.")
    if same_person(approver, stand_in):
        raise InvalidInput({"stand_in": ["Name someone other than yourself."]})
    if not all(roles.may_hold(role, stand_in, org_domains) for role in deciding):
        raise InvalidInput({"stand_in": [f"A stand-in must be a public officer: an address ending in "
                                         f"{' or '.join(org_domains)}."]})
    if roles.only_audits(stand_in):
        raise InvalidInput({"stand_in": [roles.AUDITOR_DECIDES_NOTHING]})
    if ends_at <= starts_at:
        raise InvalidInput({"ends_at": ["The end must come after the start."]})
    if ends_at <= now:
        raise InvalidInput({"ends_at": ["The end is in the past."]})
    if ends_at - starts_at > LONGEST:
        raise InvalidInput({"ends_at": [f"A stand-in is named for at most {LONGEST.days} days at a time."]})
    for other in of_approver(approver, now):
        if other.starts_at < ends_at and starts_at < other.ends_at:
            # in Singapore time, as the portal shows every time (the API's callers read the same words)
            raise Conflict(f"You already have a stand-in, {other.stand_in}, from {dates.date_and_time(other.starts_at)} "
                           f"to {dates.date_and_time(other.ends_at)}: end it first, or choose another period.")
    delegation = Delegation.create(id=str(uuid.uuid4()), approver=approver, stand_in=stand_in,
                                   roles=" ".join(deciding),
                                   # a period that began already begins now: nothing was decided in its past
                                   starts_at=max(starts_at, now), ends_at=ends_at, created_at=now)
    _record(NAMED, delegation, approver, now)
    return delegation


def end(delegation_id: str, by: str, *, as_admin: bool = False, now: dt.datetime | None = None) -> Delegation:
    """End a stand-in early, by its approver (or an administrator); call inside a transaction."""
    now = now or utcnow()
    delegation = Delegation.get_or_none(Delegation.id == delegation_id)
    if delegation is None or not (as_admin or same_person(delegation.approver, by)):
        raise NotFound(delegation_id)
    if delegation.ended_at is not None or delegation.ends_at <= now:
        raise Conflict("This stand-in has already ended.")
    delegation.ended_at, delegation.ended_by = now, by
    delegation.save()
    _record(ENDED, delegation, by, now)
    return delegation


def is_running(delegation: Delegation, now: dt.datetime) -> bool:
    """Whether the delegation runs at `now`."""
    return delegation.ended_at is None and delegation.starts_at <= now < delegation.ends_at

"""Who decides a request, level by level: the approval policy's levels (invite_common.approval_policy, the
model approval routes by) read against intake's roles, the approvers' stand-ins and the administrators'
reassignments.

A request waits in one level at a time. Entering a level (`enter`) fixes the role whose holders decide it:
the level's own, or its fallback role's when every holder of the level's role that the role table knows is
excluded for the request (they made it, it invites them, they decided an earlier level, or they are outside
the requester's agency where the level asks for it); the history says so. The fallback role's holders decide from
any agency: the fallback is what an agency without holders of the level's role relies on. A role given only by the
identity provider's claim has no holders the table knows, so such a level never falls back: its holders are
seen only as they sign in. Who may decide the level then (`acting_as`), and which requests fill a person's
queue (`queue_condition`), are answered here once, for the API, the portal and the digest.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import peewee
from flask import current_app

from invite_common import approval_policy
from invite_common.approval_policy import DEFAULT_LEVEL, Level, Policy, Route
from invite_common.people import person_key, same_person

from intake import history, lifecycle
from intake.approvals import delegations
from intake.auth import roles
from intake.errors import Forbidden
from intake.models import InviteRequest

# the reasons a person may not decide a request's level, as the API and the pages say them
OWN_REQUEST = "You cannot decide on a request you made yourself."
OWN_INVITATION = "You cannot decide on an invitation of yourself."
EARLIER_LEVEL = "You decided an earlier level of this request: someone else decides this one."
# the history's event when a level goes to its fallback role
LEVEL_FALLBACK = "level_fallback"
# how many holders' addresses the preview names before it says "and N more"
NAMES_SHOWN = 5


def load_policy(path: str) -> Policy:
    """The approval policy (APPROVAL_POLICY), the same file approval routes by, its levels naming intake's deciding
    roles; a policy that cannot be applied as written stops the service with one line saying why."""
    try:
        return approval_policy.load(path, roles=roles.DECIDING)
    except approval_policy.PolicyError as exc:
        raise SystemExit(f"APPROVAL_POLICY: {exc}") from None


def level_named(name: str, policy: Policy) -> Level:
    """The policy's level `name`; a level the policy no longer declares (approval fixed the request's levels when it
    was submitted) is decided by approvers."""
    try:
        return policy.level(name)
    except KeyError:
        return Level(name, DEFAULT_LEVEL.role, None, False, "")


def _domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def decider_keys(invite: InviteRequest) -> list[str]:
    """Who decided the request's earlier levels (and whom they stood in for), as person keys."""
    return [key for key in (invite.deciders or "").split("|") if key]


def record_deciders(invite: InviteRequest, *people: str) -> None:
    """Remember who decided the level the request waited in: none of them decides another of its levels."""
    keys = decider_keys(invite) + [person_key(p) for p in people if p]
    invite.deciders = "|" + "|".join(keys) + "|"


def excluded(invite, person: str, deciders: list[str] | None = None) -> str | None:
    """Why separation of duties keeps `person` from deciding the request, or None: they made it, it invites
    them, or they decided an earlier level of it."""
    if same_person(invite.requester, person):
        return OWN_REQUEST
    if same_person(invite.email, person):
        return OWN_INVITATION
    if person_key(person) in (deciders if deciders is not None else decider_keys(invite)):
        return EARLIER_LEVEL
    return None


@dataclass(frozen=True)
class WhoDecides:
    """Who decides one level of one request: the role whose holders do, those the role table knows by name
    (none known: any holder), and whether it is the level's fallback role."""

    level: Level
    role: str
    names: tuple[str, ...] = ()
    fell_back: bool = False
    approved_by: str | None = None  # the auto-approval rule that approves the level: no person decides it
    agency: str | None = None  # the only agency whose holders decide it (a same_agency level's own role)

    @property
    def holders_name(self) -> str:
        return roles.holders_name(self.role)


@dataclass
class Holders:
    """The policy, and the role table's holders of each role, read once per request or batch."""

    policy: Policy
    org_domains: tuple[str, ...]
    _found: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of_app(cls) -> "Holders":
        """For a request to the web app: its policy and organisation domains."""
        return cls(current_app.config["APPROVAL_POLICY"], current_app.config["ORG_DOMAINS"])

    def of(self, role: str) -> list[str]:
        if role not in self._found:
            self._found[role] = roles.holders(role, self.org_domains)
        return self._found[role]


def who_decides(level: Level, invite, deciders: list[str], holders: Holders, *, names: bool = True) -> WhoDecides:
    """Who decides `level` of `invite` (anything with a request's fields), its earlier levels decided by `deciders`;
    without `names`, only the role (no holder is read for a level without a fallback)."""
    agency = level.agency_of(invite.requester)
    if not names and not level.fallback:
        return WhoDecides(level, level.role, agency=agency)

    def eligible(role: str, within: str | None) -> list[str]:
        return [h for h in holders.of(role)
                if excluded(invite, h, deciders) is None and (within is None or _domain(h) == within)]

    known = holders.of(level.role)
    found = eligible(level.role, agency)
    if known and not found and level.fallback:
        # `same_agency` asks it of the level's own role; the fallback is there for the agency that has none of it
        # to decide (the example's central administrators): held to the agency too, a request of an agency
        # without approvers would wait for an administrator of that agency, whom most agencies do not have
        return WhoDecides(level, level.fallback, tuple(eligible(level.fallback, None)), True)
    return WhoDecides(level, level.role, tuple(found), agency=agency)


def preview(invite, holders: Holders) -> list[WhoDecides]:
    """The levels `invite` (a request not yet submitted) will pass, in order, and who can decide each: what the
    check-your-answers page and the batch review show before anything is submitted."""
    route = holders.policy.route(invite)
    found = []
    for level in route.levels:
        if level.name in route.approved_by:
            found.append(WhoDecides(level, level.role, approved_by=route.approved_by[level.name]))
        else:
            found.append(who_decides(level, invite, [], holders))
    return found


def first_open_level(route: Route) -> Level | None:
    """The first level of `route` a person decides; None when an auto-approval rule approves them all."""
    open_levels = route.open_levels()
    return open_levels[0] if open_levels else None


def enter(invite: InviteRequest, level: Level, now: dt.datetime, holders: Holders) -> WhoDecides:
    """Have the request wait in `level`: fix who decides it (its role, or its fallback role) and since when. An
    earlier reassignment ends: it was for the level the request left. `record_fallback` then tells the history."""
    decides = who_decides(level, invite, decider_keys(invite), holders, names=False)
    invite.level = level.name
    invite.level_role = decides.role
    invite.level_agency = decides.agency
    invite.level_since = now
    invite.assignee = None
    return decides


def record_fallback(invite: InviteRequest, decides: WhoDecides | None) -> None:
    """Tell the history why the level the request entered goes to its fallback role, when it does."""
    if decides is not None and decides.fell_back:
        level, now = decides.level, invite.level_since
        agency = level.agency_of(invite.requester)
        where = f" in the requester's agency ({agency})" if agency else ""
        history.append(
            invite.id, LEVEL_FALLBACK, actor="system", at=now, from_state=invite.state, to_state=invite.state,
            note=(f"Every {roles.holder_name(level.role)}{where} is excluded from deciding this request (they "
                  f"made it, it invites them, or they decided an earlier level), so {roles.holders_name(decides.role)} "
                  f"decide the {level.label} level."),
            details={"level": level.name, "role": level.role, "fallback": decides.role})


def enter_first_level(invite: InviteRequest, now: dt.datetime, holders: Holders) -> WhoDecides | None:
    """Have a request being submitted wait in the first level of its route a person decides (None when a rule
    approves every level: approval approves it)."""
    route = holders.policy.route(invite)
    invite.levels = ",".join(route.names)
    level = first_open_level(route)
    return enter(invite, level, now, holders) if level is not None else None


def route_of(invite: InviteRequest, policy: Policy) -> tuple[Level, ...]:
    """The levels the request passes, in order: as recorded at its submission, or (a request from before they were
    recorded) as the policy gives them now."""
    if invite.levels:
        return tuple(level_named(name, policy) for name in invite.levels.split(","))
    return policy.route(invite).levels


def _decides_directly(invite: InviteRequest, person: str, held: frozenset[str] | set[str]) -> bool:
    """Whether `person`, holding the roles `held`, decides the request's level themselves (no stand-in)."""
    if invite.assignee:
        return person_key(person) == invite.assignee
    in_agency = invite.level_agency is None or _domain(person) == invite.level_agency
    return (invite.level_role or DEFAULT_LEVEL.role) in held and in_agency


def not_your_level(invite: InviteRequest) -> str:
    """What someone who may not decide the request's level is told."""
    if invite.assignee:
        return "An administrator gave this request to another person to decide."
    where = " of the requester's agency" if invite.level_agency else ""
    return f"This request waits for one of the {roles.holders_name(invite.level_role or DEFAULT_LEVEL.role)}{where}."


def acting_as(invite: InviteRequest, email: str, held: frozenset[str], now: dt.datetime) -> str | None:
    """Whom `email` (holding `held`) decides the request's level as: None for themselves, or the approver they
    stand in for; Forbidden saying why when they may not decide it."""
    reason = excluded(invite, email)
    if reason:
        raise Forbidden(reason)
    if _decides_directly(invite, email, held):
        return None
    kept_away = None
    for delegation in delegations.running_for(email, now):
        if not _decides_directly(invite, delegation.approver, delegations.roles_of(delegation)):
            continue
        why = excluded(invite, delegation.approver)
        if why is None:
            return delegation.approver
        kept_away = kept_away or (delegation.approver, why)
    if kept_away is not None:
        # the stand-in would decide it but for the approver they stand in for: say so, not "not your level"
        approver, why = kept_away
        raise Forbidden(f"You stand in for {approver}, who may not decide this request: "
                        f"{STOOD_IN_FOR_REASONS[why]}")
    raise Forbidden(not_your_level(invite))


# why the approver a stand-in decides for is kept from a request, in the stand-in's words
STOOD_IN_FOR_REASONS = {OWN_REQUEST: "they made it.", OWN_INVITATION: "it invites them.",
                        EARLIER_LEVEL: "they decided an earlier level of it."}


def _as_holder(email: str, held) -> peewee.Expression:
    """The waiting requests `email`, holding `held`, decides themselves: at a level of one of their roles (in their
    agency where the level asks), or reassigned to them."""
    deciding = sorted(set(held) & set(roles.DECIDING))
    by_role = (InviteRequest.assignee.is_null() & InviteRequest.level_role.in_(deciding)
               & (InviteRequest.level_agency.is_null() | (InviteRequest.level_agency == _domain(email))))
    return by_role | (InviteRequest.assignee == person_key(email))


def _not_excluding(email: str) -> peewee.Expression:
    return (~at_address_of(InviteRequest.requester, email) & ~at_address_of(InviteRequest.email, email)
            & ~_like(InviteRequest.deciders, "%%%s%%", f"|{person_key(email)}|"))


def _like(column: peewee.Field, template: str, value: str) -> peewee.Expression:
    """`column LIKE template % value`, the value's % and _ escaped. Case-sensitive on PostgreSQL, unlike peewee's
    startswith/contains (ILIKE): the columns and keys compared are stored lower-case, and ILIKE costs about four
    times as much per row there, which the queue's counts pay on every waiting request."""
    # written out: peewee's LIKE operator is GLOB on SQLite, whose LIKE is what ILIKE becomes there
    return peewee.NodeList((column, peewee.SQL("LIKE"), column._escape_like_expr(value, template)), parens=True)


def at_address_of(column: peewee.Field, email: str) -> peewee.Expression:
    """`column` (a stored, normalised address) is one of the person's addresses: `email` with any
    `+tag` or none (invite_common.people.person_key)."""
    local, _, domain = person_key(email).rpartition("@")
    return (column == f"{local}@{domain}") | (_like(column, "%s%%", f"{local}+") & _like(column, "%%%s", f"@{domain}"))


def queue_condition(email: str, held: frozenset[str], now: dt.datetime) -> peewee.Expression:
    """Which waiting requests fill `email`'s queue: those they may decide themselves, and those of the approvers
    they stand in for now; never one separation of duties keeps them or that approver from."""
    mine = _as_holder(email, held)
    for delegation in delegations.running_for(email, now):
        mine |= _as_holder(delegation.approver, delegations.roles_of(delegation)) & _not_excluding(delegation.approver)
    return mine & _not_excluding(email)


def decides_anything(email: str, held: frozenset[str], now: dt.datetime, policy: Policy) -> bool:
    """Whether the person decides requests at all: they hold a deciding role the policy gives a level (itself or as
    its fallback), stand in for an approver now, or were given a waiting request to decide."""
    if set(held) & policy.roles():
        return True
    if delegations.running_for(email, now):
        return True
    return InviteRequest.select(InviteRequest.id).where(
        (InviteRequest.assignee == person_key(email)) & (InviteRequest.state == lifecycle.SUBMITTED)).exists()


def stand_in_duty(invite: InviteRequest, email: str, held: frozenset[str], now: dt.datetime):
    """The running delegation by which `email` decides the request's level for an approver, or None when they
    decide it themselves or may not decide it: what the request page tells a stand-in."""
    try:
        approver = acting_as(invite, email, held, now)
    except Forbidden:
        return None
    if approver is None:
        return None
    return next((d for d in delegations.running_for(email, now) if same_person(d.approver, approver)), None)

"""A request's levels of approval as approval records them: the route fixed when it was submitted, the
level it waits in, and who decided the earlier ones.

The policy (invite_common.approval_policy) says which levels a request passes; approval writes the
answer into the request once, at submission, so that a policy changed later moves no request already
waiting. A level an auto-approval rule approves is written `name=rule`, and passed by the policy
(`pass_levels_approved_by_rules`) when the request reaches it.
"""
from __future__ import annotations

from invite_common.approval_policy import Route
from invite_common.messages import Verb
from invite_common.people import person_key

from approval.models import InviteRequest
from approval.moves import POLICY, Moves


# Between two levels in the column: a line break, which no level's name nor rule's name holds
# (invite_common.approval_policy refuses them); a rule's name may hold commas.
SEPARATOR = "\n"


def encode(route: Route) -> str:
    """The levels column of a request on `route`: `agency` and `security=Known vendors, onshore`, one a line."""
    return SEPARATOR.join(f"{name}={route.approved_by[name]}" if name in route.approved_by else name for name in route.names)


def _levels(request: InviteRequest) -> list[tuple[str, str | None]]:
    """(level name, the rule that approves it or None), in order."""
    found = []
    for item in (request.levels or "approval").split(SEPARATOR):
        name, _, rule = item.partition("=")
        found.append((name, rule or None))
    return found


def names(request: InviteRequest) -> list[str]:
    """Every level the request passes, in order."""
    return [name for name, _ in _levels(request)]


def current(request: InviteRequest) -> str:
    """The name of the level the request waits in (or last waited in)."""
    levels = _levels(request)
    return levels[min(request.level, len(levels) - 1)][0]


def is_last(request: InviteRequest) -> bool:
    """Whether the level the request waits in is its last."""
    return request.level >= len(_levels(request)) - 1


def deciders(request: InviteRequest) -> list[str]:
    """Who decided the request's earlier levels (and whom they stood in for), as person keys."""
    return [line for line in (request.deciders or "").split("\n") if line]


def record_deciders(request: InviteRequest, *people: str) -> None:
    """Remember who decided the level the request waits in: none of them decides another of its levels."""
    request.deciders = "\n".join([*deciders(request), *(person_key(p) for p in people if p)])


def move_on(request: InviteRequest, moves: Moves, *, actor: str, note: str, details: dict) -> None:
    """Approve the level the request waits in and wait in the next (`approve_level`)."""
    level_names = names(request)
    moves.move(request, Verb.APPROVE_LEVEL, actor=actor, note=note,
               details=details | {"level": level_names[request.level], "next_level": level_names[request.level + 1]})
    request.level += 1


def rule_approving_current(request: InviteRequest) -> str | None:
    """The auto-approval rule that approves the level the request waits in, or None when a person decides it."""
    return _levels(request)[request.level][1]


def pass_levels_approved_by_rules(request: InviteRequest, moves: Moves) -> bool:
    """Pass, in the policy's name, every level from the current one on that an auto-approval rule approves,
    up to one a person decides; True when that approved the request's last level (it is approved)."""
    while (rule := rule_approving_current(request)) is not None:
        details = {"policy": rule, "level": current(request)}
        if is_last(request):
            moves.move(request, Verb.APPROVE, actor=POLICY, note=f"Approved by policy: {rule}", details=details)
            return True
        move_on(request, moves, actor=POLICY, note=f"Approved by policy: {rule}", details=details)
    return False

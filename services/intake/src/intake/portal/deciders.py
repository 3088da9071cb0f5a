"""Who decides a request, level by level, in the portal's words: before it is sent (the check page, a batch's
review, from `levels.preview`) and while it waits (the requester's status page, the approver's queue)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from invite_common.approval_policy import Policy
from invite_common.messages import Verb

from intake import lifecycle
from intake.approvals import levels
from intake.auth import roles
from intake.portal import labels


@dataclass(frozen=True)
class LevelShown:
    """One level as a page shows it: its label, who decides it, and why someone else does when it falls back."""

    name: str
    label: str
    who: str
    note: str | None = None


def _article(words: str) -> str:
    return ("an " if words[:1].lower() in "aeiou" else "a ") + words


def who_words(who: levels.WhoDecides) -> str:
    """ "Any of: dana@…, eve@… and 2 more", "Any security approver", or the rule that approves the level."""
    if who.approved_by:
        return f"Approved by the policy rule “{who.approved_by}”"
    if not who.names:
        where = f" in {who.agency}" if who.agency else ""
        return f"Any {roles.holder_name(who.role)}{where}"
    named = ", ".join(who.names[:levels.NAMES_SHOWN])
    more = len(who.names) - levels.NAMES_SHOWN
    return f"Any of: {named}" + (f" and {more} more" if more > 0 else "")


def fallback_note(who: levels.WhoDecides) -> str | None:
    """Why the level goes to its fallback role, in plain words; None when it does not."""
    if not who.fell_back:
        return None
    where = " in the requester's agency" if who.level.same_agency else ""
    return (f"Every {roles.holder_name(who.level.role)}{where} is excluded from this request, "
            f"so {_article(roles.holder_name(who.role))} decides it.")


def shown(found: list[levels.WhoDecides]) -> list[LevelShown]:
    """A preview's levels, in order, as the page says them."""
    return [LevelShown(w.level.name, w.level.label, who_words(w), fallback_note(w)) for w in found]


def route_words(found: list[levels.WhoDecides]) -> str:
    """The levels in one line: "Agency approval → Security approval"."""
    return " → ".join(w.level.label for w in found)


def policy() -> Policy:
    return current_app.config["APPROVAL_POLICY"]


def levels_in_use() -> bool:
    """Whether the policy declares levels: without, every request passes the one level, and pages need not name it."""
    return bool(policy().levels)


def level_label(name: str | None) -> str:
    """The label of the level `name` (one the policy no longer declares: its name in words)."""
    return labels.level_label(name) if name else ""


@dataclass(frozen=True)
class Progress:
    """Where a request stands among its levels: those passed (label, who decided), the one it waits in, and
    those to come."""

    passed: list[tuple[str, str]]  # the level's label, who approved it ("alice@…", "the policy rule “X”")
    waiting: str | None
    to_come: list[str]


def progress(invite, entries: list[dict]) -> Progress:
    """The request's levels as recorded at its submission and its history's level approvals."""
    route = levels.route_of(invite, policy())
    # a level is passed by its `approve_level` entry, the last by the request's `approve`
    decided = {e["details"].get("level"): e for e in entries if e["event"] in (labels.LEVEL_APPROVED, Verb.APPROVE)}
    passed, to_come = [], []
    waiting = invite.level if lifecycle.is_undecided(invite) else None
    seen_waiting = False
    for level in route:
        if level.name == waiting:
            seen_waiting = True
        elif level.name in decided and not seen_waiting:
            entry = decided[level.name]
            passed.append((level.label, labels.decided_by(entry["actor"], entry["details"])))
        elif seen_waiting:
            to_come.append(level.label)
    return Progress(passed, level_label(waiting) if waiting else None, to_come)

"""Keep intake's view of each request (state and history) up to date from approval's events."""
from __future__ import annotations

import datetime as dt
import logging

from invite_common.db import utcnow
from invite_common.approval_policy import NO_POLICY, Policy
from invite_common.messages import Envelope, Verb

from intake import history, lifecycle
from intake.approvals import levels
from intake.tables import invite_requests
from intake.validation.rules import username_key

log = logging.getLogger(__name__)

def record_state_change(env: Envelope, policy: Policy = NO_POLICY, org_domains: tuple[str, ...] = ()) -> None:
    """Append the transition (and those that followed it in the same event) to the history and
    move the request's state forward, and from level to level of the approval `policy`."""
    p = env.payload
    request_id = p["request_id"]
    invite = invite_requests.get_to_change_state(request_id)
    if invite is None:
        log.error("state change for a request intake does not know")
        return
    new = []
    for s in [p, *p.get("then", ())]:
        # a move already in the history (a redelivered or repeated event) is skipped by the insert itself
        if history.append_if_new(
            request_id, s["verb"], actor=s["actor"], at=dt.datetime.fromisoformat(s["changed_at"]),
            from_state=s["from_state"], to_state=s["to_state"], note=s.get("note") or "",
            details=s.get("details") or {}, source_seq=s["seq"],
            # an entry's message id is unique: the event's first new move carries it, the moves after it
            # are told apart by their sequence numbers
            message_id=None if new else env.message_id,
        ):
            new.append(s)
    if not new:
        return
    last = max(new, key=lambda s: s["seq"])
    if last["seq"] > invite.state_seq:
        invite.state = last["to_state"]
        invite.state_seq = last["seq"]
        invite.pending_action = invite.pending_actor = None
        if lifecycle.is_finished(invite.state):
            invite.open_email = None
            invite.open_username_key = None
        _move_through_levels(invite, new, levels.Holders(policy, org_domains))
        invite.updated_at = utcnow()
        invite_requests.save_changes(invite)
    for s in new:
        username = (s.get("details") or {}).get("username")
        if username:
            invite_requests.record_username(username_key(username), request_id)


def _move_through_levels(invite, moves: list[dict], holders: levels.Holders) -> None:
    """Follow the request from level to level as approval approves them (`approve_level`): remember who decided
    (and whom they stood in for), and have it wait in the next level, its deciders fixed there (approvals/levels.py)."""
    for s in sorted(moves, key=lambda s: s["seq"]):
        details = s.get("details") or {}
        if s["verb"] != Verb.APPROVE_LEVEL or not details.get("next_level"):
            continue
        if s["actor"] not in (lifecycle.BY_POLICY, lifecycle.BY_SYSTEM):
            levels.record_deciders(invite, s["actor"], details.get("on_behalf_of"))
        if invite.level == details["next_level"]:
            continue  # intake put it there at submission: the levels before were approved by a rule
        decides = levels.enter(invite, levels.level_named(details["next_level"], holders.policy),
                               dt.datetime.fromisoformat(s["changed_at"]), holders)
        if lifecycle.is_undecided(invite):
            levels.record_fallback(invite, decides)


def record_refusal(env: Envelope) -> None:
    """Approval could not apply a decision intake accepted: record why and reopen the request for decisions."""
    p = env.payload
    invite = invite_requests.get_to_change_state(p["request_id"])
    if invite is None:
        return
    history.append(
        invite.id,
        "decision_refused",
        actor=p["actor"],
        at=utcnow(),
        from_state=invite.state,
        to_state=invite.state,
        note=p["error"],
        details={"decision": p["decision"]},
        message_id=env.message_id,
    )
    if invite.pending_action == p["decision"] and lifecycle.is_undecided(invite):
        invite.pending_action = invite.pending_actor = None
        invite_requests.save_changes(invite)

"""What intake does with a requester's or approver's action: record it, then announce it via the outbox."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

import peewee
from flask import current_app

from invite_common.db import utcnow
from invite_common import dates, messages
from invite_common.messages import Decision, new_message
from invite_common.outbox import Outbox
from invite_common.people import person_key

from intake import history, lifecycle
from intake.approvals import levels
from intake.auth import roles
from intake.auth.identity import Caller
from intake.db import database
from intake.errors import Conflict, Forbidden, InvalidInput, NotFound
from intake.invites import directory, rules
from intake.limits import quotas
from intake.models import InviteRequest
from intake.tables import idempotency_keys, invite_requests
from intake.validation.rules import username_key

PRODUCER = "intake"


@dataclass
class Submission:
    invite: InviteRequest
    replayed: bool = False


def _fingerprint(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _check_open_duplicates(data: dict, caller: Caller) -> None:
    rules.check_not_self(data["email"], caller)
    rules.check_no_open_request(data["email"], caller)
    rules.check_no_account(data["email"], caller)
    if data.get("username"):
        key = username_key(data["username"])
        if invite_requests.username_in_use(key):
            raise InvalidInput({"username": ["This TechPass username is already taken; choose another."]})


def submit(data: dict, caller: Caller, outbox: Outbox, *, idempotency_key: str | None = None, batch_id: str | None = None) -> Submission:
    """Record a validated invite request as `submitted` and announce it, in one transaction."""
    fingerprint = _fingerprint(data)
    if directory.configured() and not _replayed(caller, idempotency_key):
        # asked before the transaction opens: a slow directory must not hold a database lock
        rules.check_not_self(data["email"], caller)
        rules.check_not_in_directory(data["email"])
    try:
        with database.atomic():
            if idempotency_key:
                seen = idempotency_keys.find(caller.email, idempotency_key)
                if seen:
                    if seen.fingerprint != fingerprint:
                        raise InvalidInput({"Idempotency-Key": ["This key was already used for a different request."]})
                    return Submission(invite_requests.get(seen.request_id), replayed=True)
            quotas.check(caller.email, 1)
            repeated = rules.repeatable(data["repeats"], caller) if data.get("repeats") else None
            _check_open_duplicates(data, caller)
            invite = _create(data, caller, batch_id, repeats=repeated)
            if idempotency_key:
                idempotency_keys.record(caller.email, idempotency_key, fingerprint, invite.id)
            _announce_submission(invite, outbox)
    except peewee.IntegrityError:
        # a concurrent submission for the same email or username won the race
        _check_open_duplicates(data, caller)
        raise Conflict(rules.OPEN_REQUEST, field="email")
    outbox.notify()
    return Submission(invite)


def check_submittable(data: dict, caller: Caller) -> None:
    """Raise what `submit` would refuse a validated request for, recording nothing: a form's check page
    asks first, so the requester learns of a clash before checking the answers (`submit` asks again)."""
    if directory.configured():
        rules.check_not_self(data["email"], caller)
        rules.check_not_in_directory(data["email"])
    if data.get("repeats"):
        rules.repeatable(data["repeats"], caller)
    _check_open_duplicates(data, caller)


def _replayed(caller: Caller, idempotency_key: str | None) -> bool:
    """Whether this submission repeats one already recorded (its answer is the first one's)."""
    return bool(idempotency_key) and idempotency_keys.exists(caller.email, idempotency_key)


def _new_invite(data: dict, caller: Caller, batch_id: str | None, now) -> InviteRequest:
    return InviteRequest(
        id=str(uuid.uuid4()),
        method=data["method"],
        email=data["email"],
        user_type=data["user_type"],
        username=data.get("username"),
        first_name=data.get("first_name") or "",
        last_name=data.get("last_name") or "",
        contact_number=data.get("contact_number") or "",
        organisation=data.get("organisation") or "",
        department=data.get("department") or "",
        seed_onboarding=bool(data.get("seed_onboarding")),
        offshore=bool(data.get("offshore")),
        reason=data["reason"],
        requester=caller.email,
        state=lifecycle.SUBMITTED,
        invitee_key=person_key(data["email"]),
        open_email=person_key(data["email"]),
        open_username_key=username_key(data["username"]) if data.get("username") else None,
        batch_id=batch_id,
        deciders="",
        created_at=now,
        updated_at=now,
    )


# The entry a request asked for again gets, naming the request that repeats it (whose submission
# names it back, in its details' `repeats`): each history links to the other.
REQUESTED_AGAIN = "requested_again"


def _submitted_entry(invite: InviteRequest, repeats: str | None = None) -> dict:
    # the requester's reason is the submission's note, so the history says why as well as who
    details = {"method": invite.method} | ({"repeats": repeats} if repeats else {})
    return {"request_id": invite.id, "event": "submit", "actor": invite.requester, "at": invite.created_at,
            "to_state": lifecycle.SUBMITTED, "note": invite.reason, "details": details}


def _create(data: dict, caller: Caller, batch_id: str | None, repeats: InviteRequest | None = None) -> InviteRequest:
    invite = _new_invite(data, caller, batch_id, utcnow())
    [first] = _enter_first_level([invite])
    invite_requests.insert(invite)
    history.append(**_submitted_entry(invite, repeats.id if repeats else None))
    levels.record_fallback(invite, first)
    if repeats is not None:
        # the earlier request stays as it ended (its state, its place in the news); only its history grows
        history.append(repeats.id, REQUESTED_AGAIN, actor=caller.email, at=invite.created_at,
                       from_state=repeats.state, to_state=repeats.state, details={"repeated_as": invite.id})
    return invite


def submit_many(rows: list[dict], caller: Caller, outbox: Outbox, *, batch_id: str) -> list[str]:
    """Record many already-checked requests with bulk inserts; call inside the caller's transaction.

    The caller has checked the rows for open duplicates with set-based queries; the unique
    columns still refuse a request that raced in since (peewee.IntegrityError)."""
    quotas.check(caller.email, len(rows))
    now = utcnow()
    invites = [_new_invite(data, caller, batch_id, now) for data in rows]
    first = _enter_first_level(invites)
    invite_requests.insert_many(invites)
    history.append_many([_submitted_entry(i) for i in invites])
    for invite, decides in zip(invites, first):
        levels.record_fallback(invite, decides)
    outbox.add_many([_submission_message(i) for i in invites])
    return [i.id for i in invites]


def _enter_first_level(invites: list[InviteRequest]) -> list[levels.WhoDecides | None]:
    """Have the requests about to be inserted wait in the first level of approval a person decides
    (approvals/levels.py); who decides each, for the history once they are in."""
    holders = levels.Holders.of_app()
    return [levels.enter_first_level(invite, invite.created_at, holders) for invite in invites]


def _announce_submission(invite: InviteRequest, outbox: Outbox) -> None:
    outbox.add(_submission_message(invite))


def _submission_message(invite: InviteRequest):
    return (
        new_message(
            messages.INVITE_SUBMITTED,
            {
                "request_id": invite.id,
                "method": invite.method,
                "requester": invite.requester,
                "email": invite.email,
                "user_type": invite.user_type,
                "username": invite.username,
                "first_name": invite.first_name,
                "last_name": invite.last_name,
                "organisation": invite.organisation,
                "department": invite.department,
                "contact_number": invite.contact_number,
                "seed_onboarding": invite.seed_onboarding,
                "offshore": invite.offshore,
                "submitted_at": invite.created_at.isoformat(),
            },
            correlation_id=invite.id,
            producer=PRODUCER,
        )
    )


def visible_invite(invite_id: str, caller: Caller) -> InviteRequest:
    """Return the invite if the caller may see it: its requester, an approver or an auditor."""
    invite = invite_requests.get(invite_id)
    if invite is None or not rules.may_open(caller, invite):
        raise NotFound(invite_id)
    return invite


def _claim(invite_id: str, action: str, actor: str) -> None:
    """Take the request for this decision or cancellation; exactly one of racing claims succeeds."""
    if not invite_requests.claim(invite_id, action, actor):
        raise Conflict("This request is no longer pending a decision.")


def decide(invite_id: str, caller: Caller, decision: str, note: str, outbox: Outbox) -> InviteRequest:
    """Accept an approver's approve/reject decision on a pending request and send it to approval.

    Only an approver's entrypoint calls it (auth/guards.APPROVER)."""
    with database.atomic():
        invite = invite_requests.get_to_decide(invite_id)
        if invite is None:
            raise NotFound(invite_id)
        absent = check_may_decide(invite, caller)
        # no history entry here: approval records the decision once, as it applies it
        _claim(invite_id, decision, caller.email)
        payload = {"request_id": invite_id, "decision": decision, "actor": caller.email, "level": invite.level}
        payload |= {"on_behalf_of": absent} if absent else {}
        payload |= {"comment": note} if decision == Decision.APPROVE else {"reason": note}
        outbox.add(new_message(messages.APPROVAL_DECIDE, payload, correlation_id=invite_id, producer=PRODUCER))
    outbox.notify()
    invite.pending_action, invite.pending_actor = decision, caller.email  # as the claim left it
    return invite


OWN_REQUEST = levels.OWN_REQUEST
OWN_INVITATION = levels.OWN_INVITATION
# how a bulk decision names each refusal of separation of duties or of the level
_REFUSALS = {OWN_REQUEST: "own_request", OWN_INVITATION: "own_invitation", levels.EARLIER_LEVEL: "earlier_level"}


def check_may_decide(invite: InviteRequest, caller: Caller) -> str | None:
    """Whom the caller decides the level the request waits in as: None for themselves, or the approver they
    stand in for. Forbidden when separation of duties keeps them (or that approver) from it (their own request,
    an invitation of themselves, at any of their addresses: bob+x@ is bob; an earlier level they decided), or
    the level is not theirs to decide (approvals/levels.py)."""
    return levels.acting_as(invite, caller.email, caller.roles, utcnow())


def reassign(invite_id: str, to: str, reason: str, caller: Caller) -> InviteRequest:
    """Give the level a waiting request is in to one named person to decide (an administrator's action; only
    its guard calls it). They must be able to decide it: a public officer whom separation of duties does not
    keep from it. The administrator may not reassign a request they made or that invites them."""
    to = to.strip().lower()  # as the queue matches it (person_key) and the history shows it
    with database.atomic():
        invite = invite_requests.get_locked(invite_id)
        if invite is None:
            raise NotFound(invite_id)
        if not lifecycle.awaiting_decision(invite):
            raise Conflict("This request is no longer waiting for a decision.")
        mine = levels.excluded(invite, caller.email, [])
        if mine in (OWN_REQUEST, OWN_INVITATION):
            raise Forbidden("You cannot reassign a request you made or one that invites you.")
        role = invite.level_role or roles.DECIDING[0]
        if not roles.may_hold(role, to, current_app.config["ORG_DOMAINS"]):
            raise InvalidInput({"to": [f"Only a public officer can decide a request: an address ending in "
                                       f"{' or '.join(current_app.config['ORG_DOMAINS'])}."]})
        if roles.only_audits(to):
            raise InvalidInput({"to": [roles.AUDITOR_DECIDES_NOTHING]})
        why = levels.excluded(invite, to)
        if why:
            raise InvalidInput({"to": [{levels.OWN_REQUEST: "This person made the request.",
                                        levels.OWN_INVITATION: "This request invites this person.",
                                        levels.EARLIER_LEVEL: "This person decided an earlier level of this request."}[why]]})
        now = utcnow()
        invite.assignee = person_key(to)
        invite.updated_at = now
        invite_requests.save_changes(invite)
        history.append(invite.id, REASSIGNED, actor=caller.email, at=now, from_state=invite.state,
                       to_state=invite.state, note=reason,
                       details={"to": to, "level": invite.level, "role": invite.level_role})
    return invite


# the history's entry when an administrator gives a request's level to one person to decide
REASSIGNED = "reassigned"


def decide_many(items: list[dict], caller: Caller, outbox: Outbox) -> list[dict]:
    """Decide on each item as its single call would; say per item what became of it.

    Each item is `{"id", "decision", "note"}`; each result `{"id", "status", "outcome", "error"}`
    with the status the single call would answer and an outcome a page can word."""
    results = []
    for item in items:
        result = {"id": item["id"], "status": 202, "outcome": "decided", "error": None}
        try:
            decide(item["id"], caller, item["decision"], item.get("note") or "", outbox)
        except Forbidden as exc:
            outcome = _REFUSALS.get(str(exc), "forbidden")
            result |= {"status": 403, "outcome": outcome, "error": str(exc)}
        except NotFound:
            result |= {"status": 404, "outcome": "not_found", "error": "No such request."}
        except Conflict as exc:
            result |= {"status": 409, "outcome": "already_decided", "error": str(exc)}
        results.append(result)
    return results


def cancel(invite_id: str, caller: Caller, outbox: Outbox) -> InviteRequest:
    """Withdraw the caller's own pending request."""
    with database.atomic():
        invite = invite_requests.get(invite_id)
        if invite is None or invite.requester != caller.email:
            if invite is not None and (caller.is_approver or caller.is_auditor):
                raise Forbidden("Only the requester can cancel a request.")
            raise NotFound(invite_id)
        # no history entry here: approval records the cancellation once, as it applies it (or
        # refuses it), as for a decision; the request shows "Being cancelled" meanwhile
        _claim(invite_id, Decision.CANCEL, caller.email)
        outbox.add(
            new_message(messages.INVITE_CANCELLED, {"request_id": invite_id, "actor": caller.email}, correlation_id=invite_id, producer=PRODUCER)
        )
    outbox.notify()
    return invite_requests.get(invite_id)


# A bulk cancellation's outcome for each request, beside the status its single call would answer.
CANCEL_ACCEPTED = "cancel_accepted"
NOT_FOUND, NOT_THE_REQUESTER = "not_found", "not_the_requester"
CANCEL_REFUSALS = {
    lifecycle.ALREADY_CANCELLED: "This request is already cancelled, or its cancellation is on its way.",
    lifecycle.ALREADY_APPROVED: "This request has already been approved.",
    lifecycle.ALREADY_REJECTED: "This request has already been rejected.",
    lifecycle.ALREADY_EXPIRED: "This request expired before anyone decided on it.",
    lifecycle.NO_LONGER_PENDING: "This request is no longer pending a decision.",
}


def cancel_many(invite_ids: list[str], caller: Caller, outbox: Outbox) -> list[dict]:
    """Cancel each request as its single call would, each in a transaction of its own; say per request
    what became of it.

    Each result is `{"id", "status", "outcome", "error"}`: the status the single call would answer,
    an outcome a page can word (CANCEL_ACCEPTED, one of lifecycle's refusals, NOT_FOUND or
    NOT_THE_REQUESTER) and the refusal's words. Asking again changes nothing: a request whose
    cancellation was accepted is ALREADY_CANCELLED."""
    results = []
    known = invite_requests.get_many(invite_ids)
    for invite_id in invite_ids:
        result = {"id": invite_id, "status": 202, "outcome": CANCEL_ACCEPTED, "error": None}
        seen = known.get(invite_id)
        if seen is not None and seen.requester == caller.email and not lifecycle.is_undecided(seen):
            # approval has moved it on for good, so its single cancel could only refuse it: a whole
            # batch's requests are answered without a transaction each for those long decided
            refusal = lifecycle.cancel_refused_because(seen)
            results.append(result | {"status": 409, "outcome": refusal, "error": CANCEL_REFUSALS[refusal]})
            continue
        try:
            cancel(invite_id, caller, outbox)
        except NotFound:
            result |= {"status": 404, "outcome": NOT_FOUND, "error": "No such request."}
        except Forbidden as exc:
            result |= {"status": 403, "outcome": NOT_THE_REQUESTER, "error": str(exc)}
        except Conflict:
            now = invite_requests.get(invite_id)
            refusal = lifecycle.cancel_refused_because(now) if now is not None else lifecycle.NO_LONGER_PENDING
            result |= {"status": 409, "outcome": refusal, "error": CANCEL_REFUSALS[refusal]}
        results.append(result)
    return results


RESEND_INTERVAL = dt.timedelta(days=1)
# the history's entry of a requester's resend (approval's own, once delivered, is `resend`)
RESEND_REQUESTED = "resend_requested"


def next_resend_at(invite_id: str) -> dt.datetime | None:
    """When the invitation may next be sent again (a day after the last resend), or None if never resent."""
    last = history.last_recorded(invite_id, RESEND_REQUESTED)
    return None if last is None else last + RESEND_INTERVAL


def resend(invite_id: str, caller: Caller, outbox: Outbox) -> InviteRequest:
    """Ask approval to send the caller's emailed invitation again, at most once a day."""
    with database.atomic():
        invite = invite_requests.get_locked(invite_id)
        if invite is None or invite.requester != caller.email:
            raise NotFound(invite_id)
        if not lifecycle.can_resend(invite):
            raise Conflict("Only an invitation that has been sent can be sent again.")
        now = utcnow()
        again = next_resend_at(invite_id)
        if again is not None and now < again:
            raise Conflict("This invitation was resent less than a day ago. "
                           f"You can resend it again after {dates.date_and_time(again, long=True)}.")
        history.append(invite_id, RESEND_REQUESTED, actor=caller.email, at=now, from_state=invite.state, to_state=invite.state)
        outbox.add(
            new_message(messages.INVITE_RESEND_REQUESTED, {"request_id": invite_id, "actor": caller.email}, correlation_id=invite_id, producer=PRODUCER)
        )
    outbox.notify()
    return invite

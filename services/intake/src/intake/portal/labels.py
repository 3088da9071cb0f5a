"""Words and dates the portal shows for states, methods, SEED bookings and history entries."""
from __future__ import annotations

import datetime as dt

import phonenumbers
from flask import current_app

from invite_common import dates
from invite_common.approval_policy import DEFAULT_LEVEL
from invite_common.messages import State, Verb

from intake import lifecycle
from intake.approvals.levels import level_named
from intake.auth.roles import holders_name
from intake.invites.words import METHOD_LABELS, USER_TYPE_LABELS
from intake.models import InviteRequest
from intake.validation.rules import REASON_MAX_LENGTH

STATE_LABELS = {
    State.SUBMITTED: "Waiting for approval",
    State.APPROVED: "Approved",
    State.ACCOUNT_CREATED: "Account created",
    State.SEED_REQUESTED: "SEED enrolment booked",
    State.EMAILED: "Invitation sent",
    State.REJECTED: "Rejected",
    State.CANCELLED: "Cancelled",
    State.EXPIRED: "Expired",
    State.FAILED: "Needs attention",
    State.CLOSED: "Closed",
}

# The tag colour groups a state with its kind; the label, not the colour, carries the meaning.
STATE_TONES = {
    State.SUBMITTED: "waiting",
    State.APPROVED: "progress",
    State.ACCOUNT_CREATED: "progress",
    State.SEED_REQUESTED: "progress",
    State.EMAILED: "done",
    State.REJECTED: "attention",
    State.FAILED: "attention",
    State.CANCELLED: "ended",
    State.EXPIRED: "ended",
    State.CLOSED: "ended",
}

# The overview's groups of states, in the words a requester would use.
GROUP_LABELS = {
    "pending": "Waiting for approval",
    "in_progress": "In progress",
    lifecycle.SENT: "Invitation sent",
    "attention": "Rejected or needs attention",
}
GROUPS = {key: (GROUP_LABELS[key], states) for key, states in lifecycle.REQUESTER_GROUPS.items()}

# What the status page's state filter offers: every state, then the overview's groups of several.
STATE_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    state: (label, (state,)) for state, label in STATE_LABELS.items()
} | {
    "in_progress": ("In progress (approved, account created or SEED booked)", lifecycle.REQUESTER_GROUPS["in_progress"]),
    "attention": ("Rejected or needs attention", lifecycle.REQUESTER_GROUPS["attention"]),
}

# How the overview's news about a request begins, by its outcome (the invitee's address follows).
NEWS_WORDS = {
    State.EMAILED: "The invitation was sent to",
    State.REJECTED: "An approver rejected your request for",
    State.EXPIRED: "Nobody decided in time: your request expired for",
    State.CLOSED: "A step could not be completed and your request was closed for",
}
NEWS_OTHERWISE = "A step could not be completed for"

# Where the invitee's SEED onboarding stands, by the request's state, in the requester's words; once
# a booking's code is known, it is named with its expiry (also after a later step failed).
SEED_WORDS = {
    State.SUBMITTED: "Pending approval",
    State.APPROVED: "To be booked once the account exists",
    State.ACCOUNT_CREATED: "To be booked once the account exists",
    State.SEED_REQUESTED: "Booked",
    State.EMAILED: "Sent with invitation",
}
SEED_BOOKED_WORDS = {
    State.SEED_REQUESTED: "Booked, code expires {date}",
    State.FAILED: "Booked, code expires {date}",
}

EVENT_LABELS = {
    "submit": "Request submitted",
    "cancel_requested": "Cancellation asked for",
    Verb.CANCEL: "Request cancelled",
    # recorded before decisions were kept once, by approval; older histories still hold them
    "approve_requested": "Approval given",
    Verb.APPROVE: "Approved",
    "reject_requested": "Rejection given",
    Verb.REJECT: "Rejected",
    "decision_refused": "A decision could not be applied",
    Verb.EXPIRE: "Expired without a decision",
    Verb.PROVISION: "TechPass account created",
    Verb.REQUEST_SEED: "SEED enrolment booked",
    Verb.MARK_EMAILED: "Invitation emailed",
    Verb.FAIL: "A step could not be completed",
    Verb.RETRY: "Tried again by an operator",
    Verb.CLOSE: "Closed by an operator",
    "resend_requested": "Asked to send the invitation again",
    Verb.RESEND: "Invitation sent again",
    "role_granted": "Role granted",
    "role_revoked": "Role revoked",
    "personal_data_erased": "Personal data erased (retention)",
    "requested_again": "Requested again",
}

# The status panel's line on how a request ended without its invitation: the reason given (a rejection's,
# the error, an operator's), or when it happened for an expiry or a cancellation, which need none.
ENDING_REASON_WORDS = {
    State.REJECTED: "Why it was rejected",
    State.FAILED: "What went wrong",
    State.CLOSED: "Why it was closed",
}
ENDING_TIME_WORDS = {State.EXPIRED: "Expired on", State.CANCELLED: "Cancelled on"}

# the events of a request's levels (approvals/levels.py, invites/service.py); a decision at a level names it
LEVEL_APPROVED = Verb.APPROVE_LEVEL
LEVEL_FALLBACK = "level_fallback"
REASSIGNED = "reassigned"
EVENT_LABELS |= {
    LEVEL_APPROVED: "Level approved",
    LEVEL_FALLBACK: "Level given to its fallback role",
    REASSIGNED: "Reassigned",
}
# the details a level's entry is said by (entry_title), which the timeline need not list again
LEVEL_DETAILS = ("level", "next_level", "on_behalf_of", "policy", "role", "fallback", "to")

ACTOR_LABELS = {"system": "Invite Users (automatic)", "notifier": "Email service", "policy": "an approval policy"}


def when(value: dt.datetime | str | None, *, with_time: bool = True) -> str:
    """Format a UTC time as Singapore time, e.g. "3 Jan 2027, 2:05 pm SGT" (or "3 Jan 2027")."""
    if value is None:
        return "—"
    return dates.date_and_time(value) if with_time else dates.short_date(value)


def phone(number: str | None) -> str:
    """Show a stored contact number (E.164, "+6591234567") as people write it: "+65 9123 4567"."""
    if not number:
        return "—"
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number  # stored before numbers were normalised: shown as it was given
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def page_numbers(current: int, count: int, around: int = 2) -> list[int | None]:
    """The page numbers to link beside previous/next: the first, the last and those near the current
    page, with None where a run of pages is left out ("1 … 5 6 [7] 8 9 … 40")."""
    shown = sorted({1, count, *range(max(1, current - around), min(count, current + around) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - numbers[-1] == 2:
            numbers.append(number - 1)  # a gap of one page is shown as that page, not as "…"
        elif numbers and number - numbers[-1] > 2:
            numbers.append(None)
        numbers.append(number)
    return numbers


def iso(value: dt.datetime | str | None) -> str:
    """Give a time in the machine-readable form of an HTML <time> element."""
    return "" if value is None else dates.iso(value)


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state.replace("_", " ").capitalize())


def event_label(event: str) -> str:
    return EVENT_LABELS.get(event, event.replace("_", " ").capitalize())


def actor_label(actor: str) -> str:
    return ACTOR_LABELS.get(actor, actor)


def level_label(name: str) -> str:
    """The policy's title for the level `name`; a level it no longer declares is named in words."""
    return level_named(name, current_app.config["APPROVAL_POLICY"]).label


def decided_by(actor: str, details: dict) -> str:
    """Who decided a level: "alice@…", "bob@… for dave@…" (a stand-in), or "the policy rule “X”"."""
    if details.get("policy"):
        return f"the policy rule “{details['policy']}”"
    by = actor_label(actor)
    return f"{by} for {details['on_behalf_of']}" if details.get("on_behalf_of") else by


def entry_title(event: str, actor: str, details: dict | None) -> str:
    """An entry's heading in a history: its event's label, or for an entry about a level what happened to which
    level and by whom ("Agency approval approved by alice@…", "Reassigned to carol@… by admin@…")."""
    details = details or {}
    level = details.get("level")
    if event in (LEVEL_APPROVED, Verb.APPROVE, Verb.REJECT) and level and _named_levels(details):
        if event == Verb.REJECT:
            return f"{level_label(level)} rejected by {decided_by(actor, details)}"
        return f"{level_label(level)} approved by {decided_by(actor, details)}"
    if event == LEVEL_FALLBACK and level:
        return f"{level_label(level)} goes to the {holders_name(details.get('fallback') or '')}"
    if event == REASSIGNED and details.get("to"):
        where = f" ({level_label(level)})" if level and _named_levels(details) else ""
        return f"Reassigned to {details['to']} by {actor_label(actor)}{where}"
    return event_label(event)


def _named_levels(details: dict) -> bool:
    # without a policy every request passes the one level, "approval": its decisions keep their plain labels
    plain = not current_app.config["APPROVAL_POLICY"].levels and details.get("level") == DEFAULT_LEVEL.name
    return not plain or bool(details.get("on_behalf_of"))


def seed_status(invite: InviteRequest, expires_at: dt.datetime | str | None = None) -> str:
    """Say where the invitee's SEED onboarding stands, in the requester's words."""
    if not invite.seed_onboarding:
        return "Not needed"
    if expires_at and invite.state in SEED_BOOKED_WORDS:
        return SEED_BOOKED_WORDS[invite.state].format(date=when(expires_at, with_time=False))
    return SEED_WORDS.get(invite.state, "—")


def ending(invite: InviteRequest, entries: list[dict]) -> dict | None:
    """How a request ended without its invitation, for its status panel: `term` and either the `note`
    (a reason) or `at` (when); None for a request still under way or sent, or with no such entry."""
    entry = lifecycle.ending_entry(invite, entries)
    if entry is None:
        return None
    if invite.state in ENDING_TIME_WORDS:
        return {"term": ENDING_TIME_WORDS[invite.state], "note": None, "at": entry["at"]}
    return {"term": ENDING_REASON_WORDS.get(invite.state, "Why"), "note": entry["note"] or None, "at": entry["at"]}


def may_request_again(invite: InviteRequest) -> bool:
    """Tell whether the portal offers to ask for the request again: it ended without its invitation and
    still holds its answers (retention has not erased them)."""
    return lifecycle.can_request_again(invite) and invite.erased_at is None


def news_words(state: str) -> str:
    """How the overview's news about a request in `state` begins."""
    return NEWS_WORDS.get(state, NEWS_OTHERWISE)


def register(blueprint) -> None:
    """Make these words, and the lifecycle's questions, available to every portal template (error pages included)."""
    for name, func in (("when", when), ("iso", iso), ("state_label", state_label), ("news_words", news_words),
                       ("event_label", event_label), ("actor_label", actor_label), ("phone", phone),
                       ("level_label", level_label)):
        blueprint.add_app_template_filter(func, name)
    # the lifecycle's questions, as tests: `{% if invite is being_cancelled %}`
    for name, question in (("undecided", lifecycle.is_undecided), ("action_in_flight", lifecycle.action_in_flight),
                           ("being_cancelled", lifecycle.being_cancelled)):
        blueprint.add_app_template_test(question, name)
    blueprint.add_app_template_global(seed_status, "seed_status")
    blueprint.add_app_template_global(entry_title, "entry_title")
    blueprint.add_app_template_global(LEVEL_DETAILS, "LEVEL_DETAILS")
    blueprint.add_app_template_global(page_numbers, "page_numbers")
    blueprint.add_app_template_global(REASON_MAX_LENGTH, "REASON_MAX_LENGTH")
    blueprint.add_app_template_global(STATE_TONES, "STATE_TONES")
    blueprint.add_app_template_global(METHOD_LABELS, "METHOD_LABELS")
    blueprint.add_app_template_global(USER_TYPE_LABELS, "USER_TYPE_LABELS")

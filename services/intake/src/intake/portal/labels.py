"""Words and dates the portal shows for states, methods, SEED bookings and history entries."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from intake.models import InviteRequest

# Requesters and invitees are in Singapore: every time on the pages is Singapore time.
DISPLAY_ZONE = ZoneInfo("Asia/Singapore")

STATE_LABELS = {
    "submitted": "Waiting for approval",
    "approved": "Approved",
    "account_created": "Account created",
    "seed_requested": "SEED enrolment booked",
    "emailed": "Invitation sent",
    "rejected": "Rejected",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "failed": "Needs attention",
}

# The tag colour groups a state with its kind; the label, not the colour, carries the meaning.
STATE_TONES = {
    "submitted": "waiting",
    "approved": "progress",
    "account_created": "progress",
    "seed_requested": "progress",
    "emailed": "done",
    "rejected": "attention",
    "failed": "attention",
    "cancelled": "closed",
    "expired": "closed",
}

METHOD_LABELS = {"email_invitation": "Email invitation", "create_account": "Create account"}
USER_TYPE_LABELS = {"public_officer": "Public officer", "vendor": "Vendor"}

EVENT_LABELS = {
    "submit": "Request submitted",
    "cancel_requested": "Cancellation asked for",
    "cancel": "Request cancelled",
    # recorded before decisions were kept once, by approval; older histories still hold them
    "approve_requested": "Approval given",
    "approve": "Approved",
    "reject_requested": "Rejection given",
    "reject": "Rejected",
    "decision_refused": "A decision could not be applied",
    "expire": "Expired without a decision",
    "provision": "TechPass account created",
    "request_seed": "SEED enrolment booked",
    "mark_emailed": "Invitation emailed",
    "fail": "A step could not be completed",
    "retry": "Tried again by an operator",
    "resend_requested": "Asked to send the invitation again",
    "resend": "Invitation sent again",
}

ACTOR_LABELS = {"system": "Invite Users (automatic)", "notifier": "Email service", "policy": "an approval policy"}


def when(value: dt.datetime | str | None, *, with_time: bool = True) -> str:
    """Format a UTC time as Singapore time, e.g. "3 Jan 2027, 2:05 pm"."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    local = value.astimezone(DISPLAY_ZONE)
    day = f"{local.day} {local:%b %Y}"
    if not with_time:
        return day
    hour = local.hour % 12 or 12
    return f"{day}, {hour}:{local:%M} {'am' if local.hour < 12 else 'pm'}"


def iso(value: dt.datetime | str | None) -> str:
    """Give a time in the machine-readable form of an HTML <time> element."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state.replace("_", " ").capitalize())


def event_label(event: str) -> str:
    return EVENT_LABELS.get(event, event.replace("_", " ").capitalize())


def actor_label(actor: str) -> str:
    return ACTOR_LABELS.get(actor, actor)


def seed_status(invite: InviteRequest, expires_at: dt.datetime | str | None = None) -> str:
    """Say where the invitee's SEED onboarding stands, in the requester's words."""
    if not invite.seed_onboarding:
        return "Not needed"
    if invite.state == "submitted":
        return "Pending approval"
    if invite.state in ("approved", "account_created"):
        return "To be booked once the account exists"
    if invite.state == "seed_requested":
        return f"Booked, code expires {when(expires_at, with_time=False)}" if expires_at else "Booked"
    if invite.state == "emailed":
        return "Sent with invitation"
    if invite.state == "failed" and expires_at:
        return f"Booked, code expires {when(expires_at, with_time=False)}"
    return "—"


def register(blueprint) -> None:
    """Make these words available to every portal template (error pages included)."""
    for name, func in (("when", when), ("iso", iso), ("state_label", state_label),
                       ("event_label", event_label), ("actor_label", actor_label)):
        blueprint.add_app_template_filter(func, name)
    blueprint.add_app_template_global(seed_status, "seed_status")
    blueprint.add_app_template_global(STATE_TONES, "STATE_TONES")
    blueprint.add_app_template_global(METHOD_LABELS, "METHOD_LABELS")
    blueprint.add_app_template_global(USER_TYPE_LABELS, "USER_TYPE_LABELS")

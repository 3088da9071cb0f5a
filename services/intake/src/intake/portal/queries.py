"""Read the signed-in requester's own requests: filtered pages, counts by kind, SEED bookings."""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass

import peewee

from intake.models import HistoryEntry, InviteRequest
from intake.portal.labels import STATE_LABELS

PER_PAGE = 25

# The overview's counts, each a group of states with the words a requester would use.
GROUPS = {
    "pending": ("Waiting for approval", ("submitted",)),
    "in_progress": ("In progress", ("approved", "account_created", "seed_requested")),
    "emailed": ("Invitation sent", ("emailed",)),
    "attention": ("Rejected or needs attention", ("failed", "rejected")),
}

# What the status page's state filter offers: every state, then the overview's groups of several.
STATE_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    state: (label, (state,)) for state, label in STATE_LABELS.items()
} | {
    "in_progress": ("In progress (approved, account created or SEED booked)", GROUPS["in_progress"][1]),
    "attention": ("Rejected or needs attention", GROUPS["attention"][1]),
}


@dataclass
class Page:
    items: list[InviteRequest]
    number: int
    count: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count


def own(requester: str) -> peewee.ModelSelect:
    """The requester's own requests; the portal never shows anyone else's."""
    return InviteRequest.select().where(InviteRequest.requester == requester)


def filtered(requester: str, *, state: str = "", method: str = "", email: str = "", batch: str = ""):
    """The requester's requests matching the status page's filters, newest first."""
    query = own(requester)
    if state in STATE_FILTERS:
        query = query.where(InviteRequest.state.in_(STATE_FILTERS[state][1]))
    if method:
        query = query.where(InviteRequest.method == method)
    if email.strip():
        # Stored addresses are lower-case; contains() escapes % and _ typed by the user.
        query = query.where(InviteRequest.email.contains(email.strip().lower()))
    if batch:
        query = query.where(InviteRequest.batch_id == batch)
    return query.order_by(InviteRequest.created_at.desc(), InviteRequest.id.desc())


def paginate(query, number: int, per_page: int = PER_PAGE) -> Page:
    """One page of a query; a page number past the end shows the last page."""
    total = query.count()
    count = max(1, math.ceil(total / per_page))
    number = min(max(1, number), count)
    return Page(list(query.paginate(number, per_page)), number, count, total)


def counts(requester: str) -> dict[str, int]:
    """How many of the requester's requests are in each overview group."""
    by_state = dict(
        own(requester)
        .select(InviteRequest.state, peewee.fn.COUNT(InviteRequest.id))
        .group_by(InviteRequest.state)
        .tuples()
    )
    return {key: sum(by_state.get(s, 0) for s in states) for key, (_, states) in GROUPS.items()}


# What the overview announces: outcomes a requester wants to hear of without opening each request.
NEWS_STATES = ("emailed", "rejected", "expired", "failed")
NEWS_DAYS = 14
NEWS_SHOWN = 5


def news(requester: str, now) -> list[InviteRequest]:
    """The requester's requests that were sent, rejected, expired or need attention lately, newest first."""
    since = now - dt.timedelta(days=NEWS_DAYS)
    return list(
        own(requester)
        .where(InviteRequest.state.in_(NEWS_STATES) & (InviteRequest.updated_at >= since))
        .order_by(InviteRequest.updated_at.desc())
        .limit(NEWS_SHOWN)
    )


def seed_expiries(request_ids: list[str]) -> dict[str, str]:
    """When each request's SEED enrolment code expires, for those that have one booked."""
    if not request_ids:
        return {}
    entries = (
        HistoryEntry.select(HistoryEntry.request_id, HistoryEntry.details)
        # Whichever step booked (or rebooked) the enrolment, its entry carries the expiry; the latest wins.
        .where(HistoryEntry.request_id.in_(request_ids) & HistoryEntry.details.contains("seed_expires_at"))
        .order_by(HistoryEntry.id)
    )
    found = {}
    for entry in entries:
        expires = json.loads(entry.details or "{}").get("seed_expires_at")
        if expires:
            found[entry.request_id] = expires
    return found

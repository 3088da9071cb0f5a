"""The read side: which requests a caller may list, their filters, cursor and numbered pages, counts.

The JSON API and the portal both list requests through here, so a filter means the same in both.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass

import peewee
from marshmallow import ValidationError

from invite_common.people import person_key

from intake import lifecycle
from intake.errors import InvalidInput
from intake.auth.identity import Caller
from intake.models import BatchDraft, DraftStatus, BatchRow, HistoryEntry, InviteRequest
from intake.validation.rules import check_moment

PER_PAGE = 25


@dataclass
class Page:
    """One numbered page of a list, as the portal shows it."""

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
    """The requester's own requests."""
    return InviteRequest.select().where(InviteRequest.requester == requester)


def visible_to(caller: Caller) -> peewee.ModelSelect:
    """The requests the caller may list: approvers and auditors all, a requester their own."""
    if caller.is_approver or caller.is_auditor:
        return InviteRequest.select()
    return own(caller.email)


def filtered(
    query: peewee.ModelSelect,
    *,
    states: tuple[str, ...] = (),
    method: str = "",
    email: str = "",
    email_contains: str = "",
    requester: str = "",
    batch: str = "",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> peewee.ModelSelect:
    """Narrow `query` by the given filters (an empty one is ignored), newest first."""
    if states:
        query = query.where(InviteRequest.state.in_(states))
    if method:
        query = query.where(InviteRequest.method == method)
    # Stored addresses are lower-case; contains() escapes % and _ typed by the user.
    if email.strip():
        query = query.where(InviteRequest.email == email.strip().lower())
    if email_contains.strip():
        query = query.where(InviteRequest.email.contains(email_contains.strip().lower()))
    if requester.strip():
        query = query.where(InviteRequest.requester == requester.strip().lower())
    if batch:
        query = query.where(InviteRequest.batch_id == batch)
    if since:
        query = query.where(InviteRequest.created_at >= since)
    if until:
        query = query.where(InviteRequest.created_at < until)
    return query.order_by(InviteRequest.created_at.desc(), InviteRequest.id.desc())


def in_file_order(query: peewee.ModelSelect, batch: str) -> peewee.ModelSelect:
    """A batch's requests (from `filtered(..., batch=...)`) in its file's row order, each with its `file_row`."""
    # A batch's requests share one creation time; its draft keeps each row's number in the file,
    # and within a submitted draft every row has its own email (duplicates block the submit).
    return (
        query.select_extend(BatchRow.row.alias("file_row"))
        .join(BatchRow, peewee.JOIN.LEFT_OUTER,
              on=(BatchRow.draft == batch) & (BatchRow.email_key == InviteRequest.invitee_key))
        .order_by(BatchRow.row, InviteRequest.id)
        .objects()
    )


def encode_cursor(invite: InviteRequest) -> str:
    """The opaque cursor that continues a newest-first list after `invite`."""
    raw = f"{invite.created_at.isoformat()}|{invite.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """Read a cursor back, or refuse it as input naming the `cursor` field."""
    try:
        created, _, invite_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment = dt.datetime.fromisoformat(created)
        # requests are named by UUIDs: any other id (one with a NUL, which PostgreSQL refuses to
        # compare) is not from a cursor we gave out
        if str(uuid.UUID(invite_id)) != invite_id:
            raise ValueError("not a request id")
        # a moment UTC cannot hold (year 1 at +14:00) would fail in the query, not here
        return check_moment(moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)), invite_id
    except (ValueError, UnicodeDecodeError, ValidationError):
        raise InvalidInput({"cursor": ["This cursor is not one the API gave out."]}) from None


def after_cursor(query: peewee.ModelSelect, cursor: str | None, limit: int) -> tuple[list[InviteRequest], str | None]:
    """Up to `limit` requests of a newest-first query after `cursor`, and the cursor for the rest (None at the end)."""
    if cursor:
        created, invite_id = decode_cursor(cursor)
        query = query.where(
            (InviteRequest.created_at < created)
            | ((InviteRequest.created_at == created) & (InviteRequest.id < invite_id))
        )
    rows = list(query.limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more else None)


def page_number(raw: str) -> int:
    """The page number a query string asks for: 1 unless it is a plain number (ASCII digits)."""
    # isdigit() is also true of "²", which int() refuses, as it does more than 4,300 digits; a
    # number too long to be a page is past the end, which shows the last page
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return int(raw) if len(raw) <= 18 else 10**18


def paginate(query, number: int, per_page: int = PER_PAGE) -> Page:
    """One numbered page of a query; a page number past the end shows the last page."""
    total = query.count()
    count = max(1, math.ceil(total / per_page))
    number = min(max(1, number), count)
    return Page(list(query.paginate(number, per_page)), number, count, total)


def counts(requester: str) -> dict[str, int]:
    """How many of the requester's requests are in each group."""
    by_state = dict(
        own(requester)
        .select(InviteRequest.state, peewee.fn.COUNT(InviteRequest.id))
        .group_by(InviteRequest.state)
        .tuples()
    )
    return {key: sum(by_state.get(s, 0) for s in states) for key, states in lifecycle.REQUESTER_GROUPS.items()}


# The approvers' queue ------------------------------------------------------------------------
# The portal's "Requests to approve" and GET /api/v1/approvals read it, so both list the same
# requests under the same filters. A request the approver made or that invites them is never in
# their queue: someone else decides it.


@dataclass(frozen=True)
class QueueFilters:
    """What an approver may narrow the queue to; empty values filter nothing."""

    method: str = ""
    user_type: str = ""
    seed: bool | None = None
    requester: str = ""
    email: str = ""
    older_than_days: int | None = None
    batch: str = ""


def at_address_of(column: peewee.Field, email: str) -> peewee.Expression:
    """`column` (a stored, normalised address) is one of the person's addresses: `email` with any
    `+tag` or none (invite_common.people.person_key)."""
    local, _, domain = person_key(email).rpartition("@")
    return (column == f"{local}@{domain}") | (column.startswith(f"{local}+") & column.endswith(f"@{domain}"))


def not_involving(query: peewee.ModelSelect, email: str) -> peewee.ModelSelect:
    """The requests of `query` the person did not make and that do not invite them, at any of their addresses."""
    return query.where(~at_address_of(InviteRequest.requester, email) & ~at_address_of(InviteRequest.email, email))


def decidable(caller: Caller) -> peewee.ModelSelect:
    """The waiting requests this approver may decide: not their own, not an invitation of themselves."""
    return not_involving(lifecycle.awaiting_decision_query(), caller.email)


def approver_queue(caller: Caller, filters: QueueFilters, now: dt.datetime) -> peewee.ModelSelect:
    """The approver's queue under `filters`, oldest first."""
    query = decidable(caller)
    if filters.method:
        query = query.where(InviteRequest.method == filters.method)
    if filters.user_type:
        query = query.where(InviteRequest.user_type == filters.user_type)
    if filters.seed is not None:
        query = query.where(InviteRequest.seed_onboarding == filters.seed)
    if filters.requester.strip():
        query = query.where(InviteRequest.requester == filters.requester.strip().lower())
    if filters.email.strip():
        query = query.where(InviteRequest.email.contains(filters.email.strip().lower()))
    if filters.older_than_days is not None:
        query = query.where(InviteRequest.created_at < now - dt.timedelta(days=filters.older_than_days))
    if filters.batch:
        query = query.where(InviteRequest.batch_id == filters.batch)
    return query.order_by(InviteRequest.created_at, InviteRequest.id)


def after_cursor_oldest_first(query: peewee.ModelSelect, cursor: str | None, limit: int) -> tuple[list[InviteRequest], str | None]:
    """Up to `limit` requests of an oldest-first query after `cursor`, and the cursor for the rest (None at the end)."""
    if cursor:
        created, invite_id = decode_cursor(cursor)
        query = query.where(
            (InviteRequest.created_at > created)
            | ((InviteRequest.created_at == created) & (InviteRequest.id > invite_id))
        )
    rows = list(query.limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more else None)


def expires_at(invite: InviteRequest, expiry_days: int) -> dt.datetime:
    """When a waiting request expires unless someone decides on it (approval counts from submission)."""
    return invite.created_at + dt.timedelta(days=expiry_days)


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


NEWS_DAYS = 14
NEWS_SHOWN = 5


def news(requester: str, now: dt.datetime) -> list[InviteRequest]:
    """The requester's requests that were sent, rejected, expired or need attention lately, newest first."""
    since = now - dt.timedelta(days=NEWS_DAYS)
    return list(
        own(requester)
        .where(InviteRequest.state.in_(lifecycle.OUTCOMES) & (InviteRequest.updated_at >= since))
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


@dataclass
class OpenDraft:
    """A batch its requester has not submitted yet, with how many rows it has and how many need attention."""

    id: str
    filename: str
    created_at: dt.datetime
    rows: int
    attention: int


def open_drafts(requester: str, limit: int = 5) -> list[OpenDraft]:
    """The requester's batches not yet submitted that still have rows, newest first."""
    attention = peewee.fn.SUM(peewee.Case(None, [(BatchRow.has_errors == True, 1)], 0))  # noqa: E712
    query = (
        BatchDraft.select(BatchDraft.id, BatchDraft.filename, BatchDraft.created_at,
                          peewee.fn.COUNT(BatchRow.id).alias("rows"), attention.alias("attention"))
        .join(BatchRow, on=(BatchRow.draft == BatchDraft.id))
        .where((BatchDraft.requester == requester) & (BatchDraft.status == DraftStatus.OPEN))
        .group_by(BatchDraft.id, BatchDraft.filename, BatchDraft.created_at)
        .order_by(BatchDraft.created_at.desc(), BatchDraft.id)
        .limit(limit)
    )
    return [OpenDraft(d.id, d.filename, d.created_at, d.rows, int(d.attention or 0)) for d in query.objects()]

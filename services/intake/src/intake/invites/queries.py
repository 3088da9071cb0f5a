"""The read side of requests: which a caller may list, their filters and cursors, counts, news, SEED bookings.

The JSON API and the portal both list requests through here, so a filter means the same in both.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import uuid

import peewee
from marshmallow import ValidationError


from intake import lifecycle
from intake.errors import InvalidInput
from intake.auth.identity import Caller
from intake.models import BatchRow, HistoryEntry, InviteRequest
from intake.validation.rules import check_moment

def own(requester: str) -> peewee.ModelSelect:
    """The requester's own requests."""
    return InviteRequest.select().where(InviteRequest.requester == requester)


def cancellable_in_batch(requester: str, batch_id: str) -> int:
    """How many of the requester's requests from this batch upload can still be cancelled."""
    return lifecycle.awaiting_decision_query().where(
        (InviteRequest.requester == requester) & (InviteRequest.batch_id == batch_id)).count()


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


def counts(requester: str) -> dict[str, int]:
    """How many of the requester's requests are in each group."""
    by_state = dict(
        own(requester)
        .select(InviteRequest.state, peewee.fn.COUNT(InviteRequest.id))
        .group_by(InviteRequest.state)
        .tuples()
    )
    return {key: sum(by_state.get(s, 0) for s in states) for key, states in lifecycle.REQUESTER_GROUPS.items()}


# The overview's news: outcomes of the last two weeks, the latest first.
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



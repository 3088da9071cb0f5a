"""The approvers' queue: the requests waiting for an approver's decision, under the same filters everywhere.

The portal's "Requests to approve", GET /api/v1/approvals and the approvers' digest read it, so all
list the same requests. A request the approver made or that invites them is never in their queue:
someone else decides it.
"""
from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass

import peewee
from marshmallow import Schema, ValidationError, fields, validate

from invite_common.db import utcnow
from invite_common.messages import Method, UserType

from intake import lifecycle
from intake.approvals import levels
from intake.auth.identity import Caller
from intake.errors import InvalidInput
from intake.invites.queries import decode_cursor, encode_cursor
from intake.models import InviteRequest
from intake.validation.rules import check_moment
from intake.validation import patterns
from intake.validation.problems import CHOICE, NOT_A_NUMBER, NOT_YES_OR_NO, OUT_OF_RANGE, TOO_LONG


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
    sort: str = "age"


# The queue's orders: by age (oldest first), by requester's or invitee's address (then oldest first).
AGE, REQUESTER, INVITEE = "age", "requester", "invitee"
SORTS = (AGE, REQUESTER, INVITEE)
SORT_COLUMNS = {AGE: None, REQUESTER: InviteRequest.requester, INVITEE: InviteRequest.email}


class QueueFilterArgs(Schema):
    """The filters as both front doors read them: GET /api/v1/approvals and the Requests to approve page."""

    method = fields.String(validate=validate.OneOf(Method.ALL, error=CHOICE))
    user_type = fields.String(validate=validate.OneOf(UserType.ALL, error=CHOICE))
    seed = fields.Boolean(error_messages={"invalid": NOT_YES_OR_NO})
    requester = fields.String(validate=validate.Length(max=254, error=TOO_LONG),
                              metadata={"description": "only the requests whose requester's address contains this "
                                                       "(any case; `amy` or `@vendor.com`)"})
    email = fields.String(validate=validate.Length(max=254, error=TOO_LONG),
                          metadata={"description": "only the requests whose invitee's address contains this "
                                                   "(any case; `amy` or `@vendor.com`)"})
    older_than_days = fields.Integer(validate=validate.Range(min=0, max=3650, error=OUT_OF_RANGE),
                                     error_messages={"invalid": NOT_A_NUMBER})
    batch = fields.String(validate=validate.Length(max=36, error=TOO_LONG),
                          metadata={**patterns.UUID, "description": "only the requests of this batch upload"})
    sort = fields.String(validate=validate.OneOf(SORTS, error=CHOICE),
                         metadata={"description": "the order: `age` (oldest first, the default), `requester` or "
                                                  "`invitee` (by address, then oldest first)"})


def not_involving(query: peewee.ModelSelect, email: str) -> peewee.ModelSelect:
    """The requests of `query` the person did not make and that do not invite them, at any of their addresses."""
    return query.where(~levels.at_address_of(InviteRequest.requester, email) & ~levels.at_address_of(InviteRequest.email, email))


def decidable(caller: Caller, now: dt.datetime | None = None) -> peewee.ModelSelect:
    """The waiting requests this approver may decide: at a level of theirs (or of the approver they stand in for
    now, or given to them), never their own, an invitation of themselves, or a second level they would decide."""
    return lifecycle.awaiting_decision_query().where(levels.queue_condition(caller.email, caller.roles, now or utcnow()))


def filtered(caller: Caller, filters: QueueFilters, now: dt.datetime) -> peewee.ModelSelect:
    """The approver's queue under `filters`, in no order."""
    query = decidable(caller, now)
    if filters.method:
        query = query.where(InviteRequest.method == filters.method)
    if filters.user_type:
        query = query.where(InviteRequest.user_type == filters.user_type)
    if filters.seed is not None:
        query = query.where(InviteRequest.seed_onboarding == filters.seed)
    if filters.requester.strip():
        # stored addresses are lower-case; contains() escapes the % and _ typed. The waiting requests
        # are few beside the whole table, and the page and the API read a page of them at a time.
        query = query.where(InviteRequest.requester.contains(filters.requester.strip().lower()))
    if filters.email.strip():
        query = query.where(InviteRequest.email.contains(filters.email.strip().lower()))
    if filters.older_than_days is not None:
        query = query.where(InviteRequest.created_at < now - dt.timedelta(days=filters.older_than_days))
    if filters.batch:
        query = query.where(InviteRequest.batch_id == filters.batch)
    return query


def approver_queue(caller: Caller, filters: QueueFilters, now: dt.datetime) -> peewee.ModelSelect:
    """The approver's queue under `filters`, in the order `filters.sort` names (oldest first by default)."""
    key = SORT_COLUMNS.get(filters.sort)
    age = (InviteRequest.created_at, InviteRequest.id)
    return filtered(caller, filters, now).order_by(*((key,) if key is not None else ()), *age)


@dataclass(frozen=True)
class QueueRow:
    """One row of the portal's queue: a request, or the waiting requests of one batch upload taken together."""

    unit_id: str  # the request's id, or the batch's
    is_batch: bool
    size: int  # how many of the batch's requests wait (1 for a request)
    waiting_since: dt.datetime
    requester: str
    invitee: str  # the request's invitee; for a batch, the first of its invitees by address
    # the level it waits in; for a batch, the one its waiting requests share, or None when they wait in several
    level: str | None = None


def grouped_queue(caller: Caller, filters: QueueFilters, now: dt.datetime) -> peewee.SelectBase:
    """The approver's queue under `filters`, a batch upload's requests as one row, in `filters.sort`'s order.

    Grouped in SQL (a UNION of the single requests and one GROUP BY row per batch), so a page of it
    reads a page of rows however many requests wait. Read its rows with `rows_of`."""
    waiting = filtered(caller, filters, now)
    singles = waiting.where(InviteRequest.batch_id.is_null()).select(
        InviteRequest.id.alias("unit_id"), peewee.SQL("0").alias("is_batch"), peewee.SQL("1").alias("size"),
        InviteRequest.created_at.alias("waiting_since"), InviteRequest.requester.alias("by_requester"),
        InviteRequest.email.alias("by_invitee"), InviteRequest.level.alias("level_low"),
        InviteRequest.level.alias("level_high"))
    batches = waiting.where(InviteRequest.batch_id.is_null(False)).select(
        InviteRequest.batch_id.alias("unit_id"), peewee.SQL("1").alias("is_batch"),
        peewee.fn.COUNT(InviteRequest.id).alias("size"),
        peewee.fn.MIN(InviteRequest.created_at).alias("waiting_since"),
        peewee.fn.MIN(InviteRequest.requester).alias("by_requester"),
        peewee.fn.MIN(InviteRequest.email).alias("by_invitee"),
        # one level for the whole row when its requests share it (MIN = MAX); a batch's may wait in several
        peewee.fn.MIN(InviteRequest.level).alias("level_low"),
        peewee.fn.MAX(InviteRequest.level).alias("level_high")).group_by(InviteRequest.batch_id)
    key = {REQUESTER: "by_requester", INVITEE: "by_invitee"}.get(filters.sort)
    order = ([peewee.SQL(key)] if key else []) + [peewee.SQL("waiting_since"), peewee.SQL("unit_id")]
    return singles.union_all(batches).order_by(*order)


def rows_of(found: list[dict]) -> list[QueueRow]:
    """The rows of a (paged) `grouped_queue` read with `.dicts()`."""
    created = InviteRequest.created_at
    return [QueueRow(r["unit_id"], bool(r["is_batch"]), int(r["size"]), created.python_value(r["waiting_since"]),
                     r["by_requester"], r["by_invitee"], r["level_low"] if r["level_low"] == r["level_high"] else None)
            for r in found]


def _sort_key(invite: InviteRequest, sort: str) -> str:
    return {REQUESTER: invite.requester, INVITEE: invite.email}[sort]


def encode_sorted_cursor(invite: InviteRequest, sort: str) -> str:
    """The opaque cursor that continues a queue sorted by `sort` after `invite`."""
    if sort == AGE:
        return encode_cursor(invite)
    raw = f"{sort}|{invite.created_at.isoformat()}|{invite.id}|{_sort_key(invite, sort)}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_sorted_cursor(cursor: str, sort: str) -> tuple[str, dt.datetime, str]:
    """Read a cursor of a queue sorted by `sort` (not by age) back, or refuse it as input naming `cursor`."""
    try:
        given, created, invite_id, key = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 3)
        moment = dt.datetime.fromisoformat(created)
        if given != sort or str(uuid.UUID(invite_id)) != invite_id or "\0" in key:
            raise ValueError("not a cursor of this order")
        return key, check_moment(moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)), invite_id
    except (ValueError, UnicodeDecodeError, ValidationError):
        raise InvalidInput({"cursor": ["This cursor is not one the API gave out."]}) from None


def after(query: peewee.ModelSelect, sort: str, key: str | None, created: dt.datetime, invite_id: str) -> peewee.ModelSelect:
    """The requests of `query` (in `sort`'s order) that come after the one at (`key`, `created`, `invite_id`)."""
    later = (InviteRequest.created_at > created) | ((InviteRequest.created_at == created) & (InviteRequest.id > invite_id))
    column = SORT_COLUMNS.get(sort)
    if column is None:
        return query.where(later)
    return query.where((column > key) | ((column == key) & later))


def after_cursor(query: peewee.ModelSelect, sort: str, cursor: str | None, limit: int) -> tuple[list[InviteRequest], str | None]:
    """Up to `limit` requests of an `approver_queue` sorted by `sort` after `cursor`, and the cursor for the rest."""
    if cursor:
        if sort == AGE:
            created, invite_id = decode_cursor(cursor)
            key = None
        else:
            key, created, invite_id = decode_sorted_cursor(cursor, sort)
        query = after(query, sort, key, created, invite_id)
    rows = list(query.limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_sorted_cursor(rows[-1], sort) if more else None)


def next_in_order(query: peewee.ModelSelect, sort: str, invite: InviteRequest) -> InviteRequest | None:
    """The request after `invite` in a sorted `approver_queue` (`invite` need not be in it any more), or the
    first one if none comes after it."""
    key = _sort_key(invite, sort) if sort != AGE else None
    others = query.where(InviteRequest.id != invite.id)
    return after(others, sort, key, invite.created_at, invite.id).first() or others.first()

"""The approvers' queue: the requests waiting for an approver's decision, under the same filters everywhere.

The portal's "Requests to approve", GET /api/v1/approvals and the approvers' digest read it, so all
list the same requests. A request the approver made or that invites them is never in their queue:
someone else decides it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee
from marshmallow import Schema, fields, validate

from invite_common.messages import Method, UserType
from invite_common.people import person_key

from intake import lifecycle
from intake.auth.identity import Caller
from intake.invites.queries import decode_cursor, encode_cursor
from intake.models import InviteRequest
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
        # stored addresses are lower-case; contains() escapes the % and _ typed. The waiting requests
        # are few beside the whole table, and the page and the API read a page of them at a time.
        query = query.where(InviteRequest.requester.contains(filters.requester.strip().lower()))
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

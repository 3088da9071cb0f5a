"""The approvers' queue, read side: requests waiting for a decision, filtered, oldest first, with their expiry.

The portal's "Requests to approve" and `GET /api/v1/approvals` both read it, so they list the same
requests under the same filters. A request the approver made or that invites them is never in
their queue: someone else decides it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import peewee

from invite_common.db import utcnow

from intake.identity import Caller
from intake.models import InviteRequest


@dataclass(frozen=True)
class QueueFilters:
    """What an approver may narrow the queue to; empty values filter nothing."""

    method: str = ""
    user_type: str = ""
    seed: bool | None = None
    requester: str = ""
    email: str = ""
    older_than_days: int | None = None

    def any(self) -> bool:
        return any((self.method, self.user_type, self.seed is not None, self.requester, self.email,
                    self.older_than_days is not None))


def waiting() -> peewee.ModelSelect:
    """Every request still waiting for a decision (none accepted yet)."""
    return InviteRequest.select().where((InviteRequest.state == "submitted") & InviteRequest.pending_action.is_null())


def decidable(caller: Caller) -> peewee.ModelSelect:
    """The waiting requests this approver may decide: not their own, not an invitation of themselves."""
    return waiting().where((InviteRequest.requester != caller.email) & (InviteRequest.email != caller.email))


def filtered(caller: Caller, filters: QueueFilters, now: dt.datetime | None = None) -> peewee.ModelSelect:
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
        # stored addresses are lower-case; contains() escapes % and _ typed by the user
        query = query.where(InviteRequest.email.contains(filters.email.strip().lower()))
    if filters.older_than_days is not None:
        cutoff = (now or utcnow()) - dt.timedelta(days=filters.older_than_days)
        query = query.where(InviteRequest.created_at < cutoff)
    return query.order_by(InviteRequest.created_at, InviteRequest.id)


def after(query: peewee.ModelSelect, created_at: dt.datetime, invite_id: str) -> peewee.ModelSelect:
    """The part of an oldest-first queue that comes after the given request (cursor paging)."""
    return query.where(
        (InviteRequest.created_at > created_at)
        | ((InviteRequest.created_at == created_at) & (InviteRequest.id > invite_id))
    )


def expires_at(invite: InviteRequest, expiry_days: int) -> dt.datetime:
    """When a waiting request expires unless someone decides on it (approval counts from submission)."""
    return invite.created_at + dt.timedelta(days=expiry_days)

"""Quotas per requester: how many requests may be open at once, and how many may be made in a day.

Rate limits slow a burst down; quotas bound what one person can hold: without them one account
could reserve thousands of addresses and usernames, or flood the approvers' queue, at a pace no
rate limit notices. Both count single requests and batch rows alike.

- OPEN_REQUESTS_PER_REQUESTER (5000): requests not yet decided, created or closed.
- REQUESTS_PER_DAY_PER_REQUESTER (5000): requests made in the last 24 hours.

A count is only as good as the moment it is read: two submissions by one requester counting at once
would both see room for themselves. So one requester's quota-counted submissions take turns, from
the count to their commit: on PostgreSQL on an advisory lock keyed by the requester, held until the
transaction ends; on SQLite every writing transaction already holds the file's write lock from its
start (intake's database begins them IMMEDIATE). Different requesters never wait for each other.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from flask import current_app, has_app_context

from intake.settings import DEFAULTS
from invite_common.db import utcnow

from intake.db import database
from intake.tables import invite_requests

DAY = dt.timedelta(days=1)

# The first key of every quota lock (the second is the requester's): any constant serves, it keeps
# these locks apart from other advisory locks taken in the same database.
QUOTA_LOCK = 0x71756F74


class QuotaExceeded(Exception):
    """The requester may not make these requests now (429); `retry_after` in seconds, when known."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _limits() -> tuple[int, int]:
    settings = current_app.extensions.get("settings") if has_app_context() else None
    settings = settings or DEFAULTS
    return settings.open_requests_per_requester, settings.requests_per_day_per_requester


def _requester_key(requester: str) -> int:
    # 32 bits of a stable hash: two requesters sharing one only take turns, nothing is miscounted
    return int.from_bytes(hashlib.blake2b(requester.encode(), digest_size=4).digest(), "big", signed=True)


def _take_turn(requester: str) -> None:
    """Wait until no other transaction is counting or adding this requester's requests (PostgreSQL)."""
    if not database.in_transaction():
        raise RuntimeError("quotas.check runs inside the transaction that adds the requests")
    invite_requests.wait_for_turn(QUOTA_LOCK, _requester_key(requester))


def check(requester: str, adding: int) -> None:
    """Refuse `adding` more requests by `requester` when they would pass a quota; call in the transaction that adds them.

    The requester's other submissions wait from here until this transaction ends, so what is
    counted is what they will see. Both counts read only an index (requester with open_email;
    requester with created_at)."""
    _take_turn(requester)
    max_open, max_per_day = _limits()
    open_now = invite_requests.count_open(requester)
    if open_now + adding > max_open:
        raise QuotaExceeded(
            f"You have {open_now:,} open requests and may have at most {max_open:,}. "
            "Wait for decisions on them, or cancel some, before making more."
        )
    since = utcnow() - DAY
    made = invite_requests.count_made_since(requester, since)
    if made + adding > max_per_day:
        oldest = invite_requests.first_made_since(requester, since)
        wait = int((oldest + DAY - utcnow()).total_seconds()) + 1 if oldest else None
        raise QuotaExceeded(
            f"You made {made:,} requests in the last 24 hours and may make at most {max_per_day:,} a day. "
            "Try again later.",
            retry_after=max(1, wait) if wait else None,
        )

"""Requests nobody decided on within REQUEST_EXPIRY_DAYS expire, and their requesters are told by email."""
from __future__ import annotations

import datetime as dt

from invite_common.db import utcnow
from invite_common.messages import Template, Verb

from approval import records, workflow
from approval.moves import SYSTEM, Moves


def expire_stale(moves: Moves, request_expiry_days: int, now: dt.datetime | None = None) -> int:
    """Expire requests nobody decided on within the allowed days; return how many."""
    cutoff = (now or utcnow()) - dt.timedelta(days=request_expiry_days)
    stale = records.lock_submitted_before(cutoff, workflow.AWAITING_DECISION)
    for request in stale:
        moves.move(request, Verb.EXPIRE, actor=SYSTEM, note=f"no decision within {request_expiry_days} days")
        # the requester learns it from an email, not only by looking at the portal
        moves.email(request, Template.EXPIRY_NOTICE, to=request.requester, send_key="expiry",
                    context={"request_id": request.id, "invitee_email": request.email, "expiry_days": request_expiry_days})
    return len(stale)

"""The requester's overview: counts of their requests, the latest ones, and the ways to invite."""
from __future__ import annotations

from flask import Blueprint, render_template

from invite_common.db import utcnow

from intake.auth.identity import current_caller
from intake.batches.store import open_drafts
from intake.invites import queries
from intake.portal import labels

bp = Blueprint("overview", __name__)

RECENT = 5


@bp.get("/")
def show():
    """Show how the requester's requests stand and where to start a new one."""
    caller = current_caller()
    recent = list(queries.filtered(queries.own(caller.email)).limit(RECENT))
    return render_template(
        "portal/overview.html",
        counts=queries.counts(caller.email),
        groups=labels.GROUPS,
        recent=recent,
        seed_expiries=queries.seed_expiries([r.id for r in recent]),
        news=queries.news(caller.email, utcnow()),
        drafts=open_drafts(caller.email),
    )

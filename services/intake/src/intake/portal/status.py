"""Invite status: the requester's requests, one request with its history, cancel and resend."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from invite_common.db import utcnow

from intake import history, lifecycle
from intake.invites import queries
from intake.portal import paging
from intake.batches import service as batches
from intake.errors import Conflict, NotFound
from intake.auth.identity import current_caller
from intake.limits.rates import limited
from intake.invites import service
from intake.models import InviteRequest
from intake.portal import labels
from intake.portal.invite import FORMS

bp = Blueprint("status", __name__, url_prefix="/status")

FILTERS = ("state", "method", "email", "batch")


def own_invite(invite_id: str) -> InviteRequest:
    """The caller's own request, or NotFound: the portal shows nobody else's, not even to approvers."""
    invite = InviteRequest.get_or_none((InviteRequest.id == invite_id) & (InviteRequest.requester == current_caller().email))
    if invite is None:
        raise NotFound(invite_id)
    return invite


@bp.get("")
def index():
    """Show the requester's requests, newest first, filtered and a page at a time."""
    filters = {name: request.args.get(name, "").strip() for name in FILTERS}
    # Unknown filter values are ignored rather than refused: the page always shows something.
    if filters["state"] not in labels.STATE_FILTERS:
        filters["state"] = ""
    if filters["method"] not in labels.METHOD_LABELS:
        filters["method"] = ""
    number = paging.page_number(request.args.get("page", "1"))
    states = labels.STATE_FILTERS[filters["state"]][1] if filters["state"] else ()
    query = queries.filtered(
        queries.own(current_caller().email),
        states=states, method=filters["method"], email_contains=filters["email"], batch=filters["batch"],
    )
    if filters["batch"]:
        query = queries.in_file_order(query, filters["batch"])
    page = paging.paginate(query, number)
    batch_name = None
    if filters["batch"]:
        try:
            batch_name = batches.summary(batches.get_draft(filters["batch"], current_caller()))["filename"]
        except NotFound:
            pass
    return render_template(
        "portal/status/index.html",
        page=page,
        filters=filters,
        batch_name=batch_name,
        state_filters=labels.STATE_FILTERS,
        seed_expiries=queries.seed_expiries([i.id for i in page.items]),
        any_requests=queries.own(current_caller().email).exists(),
        first_row=(page.number - 1) * paging.PER_PAGE + 1,
    )


@bp.get("/<invite_id>")
def detail(invite_id):
    """Show one request: what was asked, where it stands, and everything that happened to it."""
    caller = current_caller()
    if caller.is_approver and not InviteRequest.get_or_none(
        (InviteRequest.id == invite_id) & (InviteRequest.requester == caller.email)
    ):
        # an approver may open anyone's request: on the page made for deciding it
        return redirect(url_for("portal.approvals.detail", invite_id=invite_id))
    invite = own_invite(invite_id)
    entries = history.for_request(invite.id)
    details = [history.as_dict(e) for e in entries]
    return render_template(
        "portal/status/detail.html",
        invite=invite,
        entries=details,
        seed_text=labels.seed_status(invite, queries.seed_expiries([invite.id]).get(invite.id)),
        can_cancel=lifecycle.awaiting_decision(invite),
        can_resend=lifecycle.can_resend(invite),
        expires_at=lifecycle.expires_at(invite, current_app.config["REQUEST_EXPIRY_DAYS"]) if lifecycle.is_undecided(invite) else None,
        resend_after=_resend_after(invite),
        settling=lifecycle.action_in_flight(invite),
        ending=labels.ending(invite, details),
        can_request_again=labels.may_request_again(invite),
        request_again_url=url_for(FORMS[invite.method].view, repeats=invite.id) if invite.method in FORMS else None,
        linked=_linked(details),
    )


def _linked(entries: list[dict]) -> dict[str, InviteRequest]:
    """The caller's requests a history links to (the one a request repeats, those repeating it), by id."""
    ids = {i for e in entries for i in (e["details"].get("repeats"), e["details"].get("repeated_as")) if i}
    if not ids:
        return {}
    return {r.id: r for r in InviteRequest.select().where(
        InviteRequest.id.in_(list(ids)) & (InviteRequest.requester == current_caller().email))}


def _resend_after(invite: InviteRequest):
    """When the once-a-day resend may next be used, while it is still ahead; else None."""
    if not lifecycle.can_resend(invite):
        return None
    again = service.next_resend_at(invite.id)
    return again if again is not None and again > utcnow() else None


@bp.route("/<invite_id>/cancel", methods=["GET", "POST"])
def cancel(invite_id):
    """Ask the requester to confirm, then cancel their pending request."""
    invite = own_invite(invite_id)
    if not lifecycle.awaiting_decision(invite):
        flash("This request can no longer be cancelled: a decision has been made or is being processed.", "error")
        return redirect(url_for(".detail", invite_id=invite.id))
    if request.method == "GET":
        return render_template("portal/status/cancel.html", invite=invite)
    try:
        service.cancel(invite.id, current_caller(), current_app.extensions["outbox"])
    except Conflict as exc:
        flash(str(exc), "error")
    else:
        flash("Your cancellation was sent. The state below changes to Cancelled once it is done.", "success")
    return redirect(url_for(".detail", invite_id=invite.id))


@bp.post("/<invite_id>/resend")
@limited("resend")
def resend(invite_id):
    """Send the invitation email again."""
    invite = own_invite(invite_id)
    try:
        service.resend(invite.id, current_caller(), current_app.extensions["outbox"])
    except Conflict as exc:
        flash(str(exc), "error")
    else:
        flash(f"The invitation will be sent to {invite.email} again in a moment.", "success")
    return redirect(url_for(".detail", invite_id=invite.id))

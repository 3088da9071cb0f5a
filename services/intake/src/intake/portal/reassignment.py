"""Reassigning requests (administrators): the requests waiting for a decision, one of them read-only with who
decides it, and the form that gives its level to one named person to decide.

An administrator may hold no deciding role, so these pages are the administration area's, not the approvers'
(whose request page offers the decision itself); the service's own rules and the API's schema apply alike."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from intake import history, lifecycle
from intake.approvals import levels
from intake.approvals.delegation_schemas import ReassignmentSchema
from intake.auth import guards, roles
from intake.auth.identity import current_caller
from intake.errors import Conflict, Forbidden, InvalidInput, NotFound
from intake.invites import service
from intake.models import InviteRequest
from intake.portal import forms, paging

bp = Blueprint("reassignment", __name__, url_prefix="/admin/requests")
bp.guard = guards.ADMIN_REQUEST_PAGES

REASSIGNMENT_SCHEMA = ReassignmentSchema()


def who_decides(invite: InviteRequest) -> str:
    """Who decides the level a waiting request is in, in words."""
    if invite.assignee:
        return invite.assignee
    where = f" of {invite.level_agency}" if invite.level_agency else ""
    return f"Any of the {roles.holders_name(invite.level_role or levels.DEFAULT_LEVEL.role)}{where}"


# the longest address part the search reads, as the queue's filters
SEARCH_LONGEST = 254


@bp.get("")
def index():
    """The requests waiting for a decision, oldest first, with who decides each; `q` finds those whose invitee's or
    requester's address contains it (an administrator looking for one request among pages of them)."""
    query = lifecycle.awaiting_decision_query().order_by(InviteRequest.created_at, InviteRequest.id)
    search = " ".join(request.args.get("q", "").split())[:SEARCH_LONGEST].lower()
    if search:
        # stored addresses are lower-case; contains() escapes the % and _ typed
        query = query.where(InviteRequest.email.contains(search) | InviteRequest.requester.contains(search))
    page = paging.paginate(query, paging.page_number(request.args.get("page", "1")))
    return render_template("portal/admin/waiting.html", page=page, who_decides=who_decides, search=search)


def _invite(invite_id: str) -> InviteRequest:
    invite = InviteRequest.get_or_none(InviteRequest.id == invite_id)
    if invite is None:
        raise NotFound(invite_id)
    return invite


def _page(invite: InviteRequest, values: dict, errors: dict, status: int = 200):
    caller = current_caller()
    return render_template(
        "portal/admin/reassign.html", invite=invite, values=values, errors=errors,
        entries=[history.as_dict(e) for e in history.for_request(invite.id)], who_decides=who_decides(invite),
        waiting=lifecycle.awaiting_decision(invite),
        own=levels.excluded(invite, caller.email, []) in (levels.OWN_REQUEST, levels.OWN_INVITATION),
    ), status


@bp.get("/<invite_id>")
def detail(invite_id):
    """A request as administrators see it: what was asked, who decides it, its history, and the reassignment form."""
    return _page(_invite(invite_id), {}, {})


@bp.post("/<invite_id>/reassignment")
def reassign(invite_id):
    """Give the request's level to the person named, saying why; say what is wrong beside its field otherwise."""
    invite = _invite(invite_id)
    typed = {name: request.form.get(name, "") for name in ("to", "reason")}
    try:
        data = REASSIGNMENT_SCHEMA.load(typed)
    except ValidationError as exc:
        return _page(invite, typed, forms.plain_errors(exc.messages), 422)
    try:
        invite = service.reassign(invite.id, data["to"], data["reason"], current_caller())
    except InvalidInput as exc:
        return _page(invite, typed, exc.errors, 422)
    except (Conflict, Forbidden) as exc:
        flash(f"Nothing was reassigned. {exc}", "error")
        return redirect(url_for(".detail", invite_id=invite.id))
    flash(f"{invite.assignee} now decides this request; it has left the other deciders' queues.", "success")
    return redirect(url_for(".detail", invite_id=invite.id))

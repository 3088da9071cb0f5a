"""Invite status: the requester's requests, one request with its history, cancel (one, several, or a
batch's pending ones) and resend."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from invite_common.db import utcnow

from intake import history, lifecycle
from intake.invites import queries
from intake.portal import paging
from intake.batches import service as batches
from intake.errors import Conflict, NotFound
from intake.auth.identity import current_caller
from intake.limits.rates import limited
from intake.invites import service
from intake.invites.cancellations import BulkCancellationSchema
from intake.models import InviteRequest
from intake.portal import deciders, labels
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
    return _index_page()


def _index_page(errors: dict | None = None, selected=(), status: int = 200):
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
        cancellable={i.id for i in page.items if lifecycle.awaiting_decision(i)},
        batch_pending=queries.cancellable_in_batch(current_caller().email, filters["batch"]) if filters["batch"] else 0,
        errors=errors or {},
        selected=set(selected),
    ), status


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
        levels=deciders.progress(invite, details),
        levels_named=deciders.levels_in_use(),
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


# --- cancelling several requests at once -------------------------------------------------------
# The requests ticked on the status page, or every request of a submitted batch, are cancelled one by
# one through service.cancel, as the API's bulk cancellation does (service.cancel_many).

BULK_CANCELLATION = BulkCancellationSchema()
NOTHING_SELECTED = "Select the requests you want to cancel."
# the confirmation page lists a batch's pending requests, up to this many
SHOWN_REQUESTS = 100
RESULT_WORDS = {
    service.CANCEL_ACCEPTED: "Cancelled now",
    lifecycle.ALREADY_CANCELLED: "Not cancelled again: already cancelled",
    lifecycle.ALREADY_APPROVED: "Not cancelled: already approved",
    lifecycle.ALREADY_REJECTED: "Not cancelled: already rejected",
    lifecycle.ALREADY_EXPIRED: "Not cancelled: it expired",
    lifecycle.NO_LONGER_PENDING: "Not cancelled: no longer waiting for a decision",
    service.NOT_FOUND: "Not cancelled: not found, or not your request",
    service.NOT_THE_REQUESTER: "Not cancelled: not found, or not your request",
}


def _batch_requests(batch_id: str):
    """The caller's requests from this batch, in the order of its file."""
    return queries.in_file_order(queries.filtered(queries.own(current_caller().email), batch=batch_id), batch_id)


def _chosen_ids() -> tuple[list[str], dict]:
    """The ticked requests, each once, as the API's schema reads them; and what is wrong with them."""
    ids = list(dict.fromkeys(i for i in request.values.getlist("ids") if i.strip()))
    if not ids:
        return ids, {"ids": [NOTHING_SELECTED]}
    try:
        return BULK_CANCELLATION.load({"ids": ids})["ids"], {}
    except ValidationError as exc:
        found = exc.messages.get("ids", [])
        words = found if isinstance(found, list) else [m for ms in found.values() for m in ms]
        return ids, {"ids": [str(w) for w in words]}


def _own(ids: list[str]) -> list[InviteRequest]:
    """The caller's own requests among `ids`, in the order given."""
    found = {i.id: i for i in queries.own(current_caller().email).where(InviteRequest.id.in_(ids))}
    return [found[i] for i in ids if i in found]


def _batch_name(batch_id: str) -> str:
    return batches.summary(batches.get_draft(batch_id, current_caller()))["filename"]


def _back_args() -> dict[str, str]:
    """The status page's filters and page the requester ticked on, to go back to."""
    return {name: request.args[name] for name in (*FILTERS, "page") if request.args.get(name, "").strip()}


@bp.get("/cancellations")
def confirm_cancellations():
    """Ask the requester to confirm cancelling the requests they ticked, or a batch's pending ones."""
    batch_id = request.args.get("batch", "").strip()
    if request.args.get("all_pending") == "yes" and batch_id:
        name = _batch_name(batch_id)  # NotFound unless it is the caller's own batch
        every = list(_batch_requests(batch_id))
        pending = [i for i in every if lifecycle.awaiting_decision(i)]
        return render_template("portal/status/cancel_many.html", invites=pending[:SHOWN_REQUESTS],
                               count=len(pending), others=len(every) - len(pending), batch_id=batch_id,
                               batch_name=name, ids=[], back_args={"batch": batch_id})
    ids, errors = _chosen_ids()
    if errors:
        return _index_page(errors, ids, 422)
    invites = _own(ids)
    return render_template("portal/status/cancel_many.html", invites=invites, count=len(invites), others=0,
                           batch_id="", batch_name=None, ids=ids, back_args=_back_args())


@bp.post("/cancellations")
def cancel_many():
    """Cancel the confirmed requests (or every pending one of a batch) and show what became of each."""
    batch_id = request.form.get("batch", "").strip()
    back_args = _back_args()
    if request.form.get("all_pending") == "yes" and batch_id:
        name, back_args = _batch_name(batch_id), {"batch": batch_id}
        # every request of the batch, in its file's order: those decided since the confirmation are
        # named with what became of them instead of being left out
        invites = {i.id: i for i in _batch_requests(batch_id)}
        ids = list(invites)
    else:
        name = None
        ids, errors = _chosen_ids()
        if errors:
            return _index_page(errors, ids, 422)
        invites = {i.id: i for i in _own(ids)}
    results = service.cancel_many(ids, current_caller(), current_app.extensions["outbox"])
    rows = [{"id": r["id"], "invite": invites.get(r["id"]), "accepted": r["outcome"] == service.CANCEL_ACCEPTED,
             "words": RESULT_WORDS.get(r["outcome"], r["error"])} for r in results]
    return render_template("portal/status/cancel_results.html", rows=rows, batch_name=name, back_args=back_args,
                           accepted=sum(1 for r in rows if r["accepted"]))

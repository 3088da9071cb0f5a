"""Requests to approve: the approver's queue, a request with what is needed to decide it, single and bulk decisions."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from marshmallow import ValidationError

from invite_common.db import utcnow

from intake import history, lifecycle
from intake.approvals import decision_context, levels, outcomes, queue
from intake.errors import Conflict, Forbidden, NotFound
from intake.auth import guards
from intake.auth.identity import current_caller
from intake.limits.rates import Bulk, limited
from intake.invites import service
from intake.approvals.decisions import ApproveSchema, BulkDecisionSchema, RejectSchema
from intake.models import BatchDraft, InviteRequest
from intake.portal import deciders, forms
from intake.portal import paging

bp = Blueprint("approvals", __name__, url_prefix="/approvals")
bp.guard = guards.APPROVAL_PAGES

# The API's own schemas: a comment or reason is held to the same rules whichever door it comes in by.
DECISION_SCHEMAS = {"approve": ApproveSchema(), "reject": RejectSchema()}
BULK_DECISION_SCHEMA = BulkDecisionSchema()

FILTERS = ("method", "user_type", "seed", "requester", "email", "older_than", "batch", "sort")
# The approver's last filters and sort, kept in their session for when they come back to the queue
REMEMBERED = "approval_queue"
# The API's own schema reads the filters; the page names one of them otherwise.
QUEUE_FILTERS = queue.QueueFilterArgs()
PAGE_NAMES = {"older_than_days": "older_than"}
SCHEMA_NAMES = {page: schema for schema, page in PAGE_NAMES.items()}
REASON_PREVIEW = 80

OUTCOME_WORDS = {
    "own_request": "Not decided: you made this request",
    "own_invitation": "Not decided: this request invites you",
    "already_decided": "Not decided: it was no longer waiting for a decision",
    "not_found": "Not decided: no such request",
    "forbidden": "Not decided: you may not decide on it",
}
DECIDED_WORDS = {"approve": "Approved now", "reject": "Rejected now"}


def waiting_count() -> int:
    """How many requests wait for the signed-in approver, counted once per page (the nav shows it too)."""
    if "approver_waiting" not in g:
        g.approver_waiting = queue.decidable(current_caller()).count()
    return g.approver_waiting


@dataclass
class QueueFilters:
    """The queue's filters as the page's form sent them: as typed (shown again), as the API's schema
    loads them, and what is wrong with them, by the page's field. A filter that is wrong is left out
    and named beside its field; the queue still shows."""

    typed: dict[str, str]
    loaded: queue.QueueFilters
    problems: dict[str, list[str]]

    @property
    def used(self) -> dict[str, str]:
        """The filters in force, as the page's links carry them on."""
        return {k: v for k, v in self.typed.items() if v and k not in self.problems}

    @property
    def filtering(self) -> bool:
        """Whether any filter narrows the queue (the order does not)."""
        return any(v for k, v in self.typed.items() if k != "sort")


def read_filters(values=None) -> QueueFilters:
    """Read the queue's filters from the query string (or `values`) through the API's schema."""
    values = request.values if values is None else values
    typed = {name: values.get(name, "").strip() for name in FILTERS}
    given = {SCHEMA_NAMES.get(name, name): value for name, value in typed.items() if value}
    try:
        loaded, problems = QUEUE_FILTERS.load(given), {}
    except ValidationError as exc:
        loaded, problems = exc.valid_data or {}, forms.filter_problems(exc.messages, PAGE_NAMES)
    return QueueFilters(typed, queue.QueueFilters(**loaded), problems)


def _batch_of(batch_id: str) -> BatchDraft | None:
    """The batch upload a queue or a request comes from, to name it (file, requester, rows)."""
    return BatchDraft.get_or_none(BatchDraft.id == batch_id) if batch_id else None


def _warnings(invites: list[InviteRequest]) -> dict[str, list[str]]:
    """The request page's warnings for each of `invites`, by id."""
    return decision_context.warnings_by_request(
        invites, current_app.config["ORG_DOMAINS"], current_app.config["REQUEST_EXPIRY_DAYS"])


def no_longer_waiting(ids) -> list[dict]:
    """The selected requests that have left the approver's queue, each with why, in the order selected."""
    caller = current_caller()
    invites = {i.id: i for i in InviteRequest.select().where(InviteRequest.id.in_(list(ids)))} if ids else {}
    gone = []
    for invite_id in ids:
        why = outcomes.why_not_waiting(invites.get(invite_id), caller)
        if why:
            gone.append({"id": invite_id, "invite": invites.get(invite_id), "why": why})
    return gone


def _queue_page(filters: QueueFilters, caller, number: int):
    """A page of the queue: inside a batch its requests, else a row per request or per batch upload;
    with the requests shown (by id), the batches named (by id), and the batch's warnings summed up."""
    now = utcnow()
    if filters.loaded.batch:
        query = queue.approver_queue(caller, filters.loaded, now)
        page = paging.paginate(query, number)
        page.rows = [queue.QueueRow(i.id, False, 1, i.created_at, i.requester, i.email) for i in page.items]
        requests = {i.id: i for i in page.items}
        summary = decision_context.warnings_summary(_warnings(list(query)))
        return page, requests, {}, summary
    page = paging.paginate(queue.grouped_queue(caller, filters.loaded, now).dicts(), number)
    page.rows = queue.rows_of(page.items)
    singles = [r.unit_id for r in page.rows if not r.is_batch]
    requests = {i.id: i for i in InviteRequest.select().where(InviteRequest.id.in_(singles))} if singles else {}
    page.items = [requests[i] for i in singles if i in requests]
    batch_ids = [r.unit_id for r in page.rows if r.is_batch]
    batches = {b.id: b for b in BatchDraft.select().where(BatchDraft.id.in_(batch_ids))} if batch_ids else {}
    return page, requests, batches, []


def _render_queue(filters: QueueFilters, errors: dict | None = None, selected=(), note: str = "", status: int = 200):
    caller = current_caller()
    page, requests, batches, summary = _queue_page(filters, caller, paging.page_number(request.values.get("page", "1")))
    days = current_app.config["REQUEST_EXPIRY_DAYS"]
    return render_template(
        "portal/approvals/queue.html",
        page=page,
        requests=requests,
        batches=batches,
        batch_summary=summary,
        sorts=SORT_LABELS,
        sort=filters.loaded.sort,
        filters=filters.typed,
        filter_problems=filters.problems,
        filter_args=filters.used,
        without_batch={k: v for k, v in filters.used.items() if k != "batch"},
        without_sort={k: v for k, v in filters.used.items() if k != "sort"},
        filtering=filters.filtering,
        remembered=bool(session.get(REMEMBERED)),
        waiting=waiting_count(),
        expires={i.id: lifecycle.expires_at(i, days) for i in page.items},
        now=utcnow(),
        first_row=(page.number - 1) * paging.PER_PAGE + 1,
        errors=errors or {},
        selected=set(selected),
        left_queue=no_longer_waiting(selected),
        warnings=_warnings(page.items),
        # the level each request waits in, named where the policy has more than the one level
        waiting_in={i.id: deciders.level_label(i.level) for i in page.items} if deciders.levels_in_use() else {},
        levels_in_use=deciders.levels_in_use(),
        level_label=deciders.level_label,
        note=note,
        reason_preview=REASON_PREVIEW,
        batch=_batch_of(filters.loaded.batch),
    ), status


SORT_LABELS = {queue.AGE: "Age (oldest first)", queue.REQUESTER: "Requester", queue.INVITEE: "Invitee"}


def remember(filters: QueueFilters) -> None:
    """Keep the approver's filters and sort for their next visit; a batch's page is a visit, not a choice."""
    if filters.problems or filters.loaded.batch:
        return
    kept = {k: v for k, v in filters.used.items() if not (k == "sort" and v == queue.AGE)}
    if kept:
        session[REMEMBERED] = kept
    else:
        session.pop(REMEMBERED, None)


def remembered_filters() -> queue.QueueFilters:
    """The approver's remembered filters and sort, as the queue reads them (the whole queue if none)."""
    return read_filters(session.get(REMEMBERED) or {}).loaded


@bp.get("")
def index():
    """Show the requests waiting for this approver's decision, a batch upload as one row, in the order
    and under the filters asked for (or the approver's last ones), a page at a time."""
    if request.args.get("clear") == "yes":
        session.pop(REMEMBERED, None)
        return redirect(url_for(".index"))
    if not request.args and session.get(REMEMBERED):
        return redirect(url_for(".index", **session[REMEMBERED]))
    filters = read_filters()
    remember(filters)
    return _render_queue(filters, status=422 if filters.problems else 200)


@dataclass
class BulkDecision:
    """The bulk decision form as posted: the requests selected, each once, the decisions as the API's
    schema loads them, and what is wrong with it (the schema's words, on the queue's fields)."""

    ids: list[str]
    decision: str
    note: str
    items: list[dict]
    errors: dict[str, list[str]]


def read_bulk_decision() -> BulkDecision:
    """Read the bulk decision form (the ticked requests, or every one on the page) through the API's schema."""
    ids = request.form.getlist("ids")
    if request.form.get("all_on_page") == "yes":
        ids = request.form.getlist("page_ids")
    ids = list(dict.fromkeys(i for i in ids if i))[:paging.PER_PAGE * 4]
    decision = request.form.get("decision", "")
    note = request.form.get("note", "")
    try:
        data = BULK_DECISION_SCHEMA.load(forms.bulk_decision_data(ids, decision, note))
    except ValidationError as exc:
        return BulkDecision(ids, decision, note, [], forms.bulk_decision_errors(exc.messages))
    items = [{"id": d["id"], "decision": d["decision"], "note": d["comment"] or d["reason"] or ""} for d in data["decisions"]]
    return BulkDecision(ids, decision, note, items, {})


def confirmed() -> bool:
    """Whether the bulk form comes from the confirmation page: only that one decides."""
    return request.form.get("confirmed") == "yes"


def decisions_asked() -> int:
    """How many decisions the posted bulk form asks for; a form the page sends back, or one still to
    be confirmed, counts as one."""
    form = read_bulk_decision()
    return 1 if form.errors or not confirmed() else len(form.ids)


def _render_confirmation(filters: QueueFilters, form: BulkDecision):
    gone = no_longer_waiting(form.ids)
    left = {g["id"] for g in gone}
    waiting = {i.id: i for i in InviteRequest.select().where(InviteRequest.id.in_([i for i in form.ids if i not in left]))}
    rows = [waiting[i] for i in form.ids if i in waiting]
    warnings = _warnings(rows)
    return render_template(
        "portal/approvals/confirm.html", rows=rows, warnings=warnings, gone=gone, decision=form.decision,
        note=form.note, back_args=filters.used, warned=sum(1 for w in warnings.values() if w),
    )


@bp.post("/decide")
@limited("decide", bulk=Bulk(
    decisions_asked, "ids",
    "Select at most {amount:,} requests at once: that is as many as one person may decide on in {window}."))
def decide_selected():
    """Ask to confirm a decision on the selected requests (or all on the page), showing each with its
    warnings; once confirmed, approve or reject them and show what became of each."""
    filters = read_filters()
    form = read_bulk_decision()
    ids, decision = form.ids, form.decision
    if form.errors:
        return _render_queue(filters, form.errors, ids, form.note, 422)
    if not confirmed():
        return _render_confirmation(filters, form)
    caller = current_caller()
    results = service.decide_many(form.items, caller, current_app.extensions["outbox"])
    invites = {i.id: i for i in InviteRequest.select().where(InviteRequest.id.in_(ids))}
    rows = []
    for r in results:
        invite, decided = invites.get(r["id"]), r["outcome"] == "decided"
        if decided:
            words = DECIDED_WORDS[decision]
        else:
            why = outcomes.why_not_waiting(invite, caller) if r["outcome"] == "already_decided" else None
            words = f"Not decided: {why[0].lower()}{why[1:]}" if why else OUTCOME_WORDS.get(r["outcome"], r["error"])
        rows.append({"id": r["id"], "invite": invite, "decided": decided, "words": words})
    return render_template(
        "portal/approvals/results.html", rows=rows, decision=decision,
        decided=sum(1 for r in rows if r["decided"]), back_args=filters.used,
    )


def _invite(invite_id: str) -> InviteRequest:
    invite = InviteRequest.get_or_none(InviteRequest.id == invite_id)
    if invite is None:
        raise NotFound(invite_id)
    return invite


def next_waiting(caller, invite: InviteRequest) -> InviteRequest | None:
    """The request after `invite` in the approver's queue, in its order and under its filters as they
    last left them (or the first one; the whole queue's once none is left under the filters): one they may decide."""
    filters = remembered_filters()
    found = queue.next_in_order(queue.approver_queue(caller, filters, utcnow()), filters.sort, invite)
    if found is None and filters != queue.QueueFilters(sort=filters.sort):
        # nothing left under the filters: the rest of the queue, in the same order, rather than "empty"
        found = queue.next_in_order(queue.approver_queue(caller, queue.QueueFilters(sort=filters.sort), utcnow()),
                                    filters.sort, invite)
    return found


def _render_detail(invite: InviteRequest, errors: dict | None = None, values: dict | None = None, status: int = 200):
    caller = current_caller()
    context = decision_context.for_approver(
        invite, caller, current_app.config["ORG_DOMAINS"], current_app.config["REQUEST_EXPIRY_DAYS"]
    )
    can_decide = lifecycle.awaiting_decision(invite) and context.blocked_because is None
    stand_in_duty = levels.stand_in_duty(invite, caller.email, caller.roles, utcnow()) if can_decide else None
    return render_template(
        "portal/approvals/detail.html",
        invite=invite,
        settling=lifecycle.action_in_flight(invite),
        next_invite=None if can_decide else next_waiting(caller, invite),
        entries=[history.as_dict(e) for e in history.for_request(invite.id)],
        context=context,
        can_decide=can_decide,
        stand_in_duty=stand_in_duty,
        # the level it waits in, named where the policy has more than the one level
        waiting_in=deciders.level_label(invite.level)
        if deciders.levels_in_use() and lifecycle.is_undecided(invite) else "",
        may_reassign=caller.is_admin and lifecycle.awaiting_decision(invite),
        errors=errors or {},
        values=values or {},
        batch=_batch_of(invite.batch_id),
        batch_total=InviteRequest.select().where(InviteRequest.batch_id == invite.batch_id).count() if invite.batch_id else 0,
        batch_waiting=(queue.approver_queue(caller, queue.QueueFilters(batch=invite.batch_id), utcnow()).count()
                       if invite.batch_id else 0),
    ), status


@bp.get("/<invite_id>")
def detail(invite_id):
    """Show a request with everything an approver needs to decide it, and the controls to do so."""
    return _render_detail(_invite(invite_id))


def _decide(invite_id: str, decision: str):
    invite = _invite(invite_id)
    field = "comment" if decision == "approve" else "reason"
    typed = request.form.get(field, "")
    try:
        note = DECISION_SCHEMAS[decision].load({field: typed})[field] or ""
    except ValidationError as exc:
        return _render_detail(invite, forms.plain_errors(exc.messages), {field: typed}, 422)
    try:
        service.decide(invite.id, current_caller(), decision, note, current_app.extensions["outbox"])
    except Forbidden as exc:
        # a forged form post: the page never offers the control
        flash(f"Nothing was decided. {exc}", "error")
    except Conflict:
        flash("Nothing was decided: this request is no longer waiting for a decision. Someone may have decided on it just now.", "error")
    else:
        if decision == "approve":
            flash(f"You approved the request for {invite.email}. The account is being created and the invitation sent; "
                  "the history below shows each step.", "success")
        else:
            flash(f"You rejected the request for {invite.email}. The requester will be told your reason.", "success")
    return redirect(url_for(".detail", invite_id=invite.id))


@bp.post("/<invite_id>/approve")
@limited("decide")
def approve(invite_id):
    """Approve a request, with an optional comment."""
    return _decide(invite_id, "approve")


@bp.post("/<invite_id>/reject")
@limited("decide")
def reject(invite_id):
    """Reject a request, with the reason the requester will read."""
    return _decide(invite_id, "reject")

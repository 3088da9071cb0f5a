"""The invites API: submit, read, list, cancel, approve and reject (under /api/v1)."""
from __future__ import annotations


from flask import current_app, request
from flask.views import MethodView
from invite_common.messages import Decision, Method
from marshmallow import RAISE, Schema, fields, validate

from intake import history, lifecycle
from intake.invites import queries
from intake.validation import patterns
from intake.api.blueprint import Blueprint, requires
from intake.auth import guards
from intake.limits.rates import limited
from intake.errors import InvalidInput
from intake.auth.identity import current_caller
from intake.invites import service
from intake.approvals import decision_context, levels
from intake.approvals.decisions import ApproveSchema, RejectSchema
from intake.invites.cancellations import BulkCancellationSchema
from intake.invites.schemas import InviteRequestSchema, InviteSchema
from intake.models import InviteRequest
from intake.validation.fields import Moment, Rule
from intake.validation.rules import normalise_email

blp = Blueprint("invites", __name__, url_prefix="/api/v1", description="Invite requests")


class HistoryEntrySchema(Schema):
    seq = fields.Integer()
    event = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor = fields.String()
    note = fields.String()
    details = fields.Dict()
    at = fields.String()
    hash = fields.String(allow_none=True, metadata={"description": "the entry's chain hash; null until linked"})


# what to check before deciding, as the approver's request page and queue show it (approval/decision_context)
WARNINGS = fields.List(fields.String(), dump_only=True, metadata={
    "description": "For an approver only: what to check before deciding (a vendor with a public-officer "
                   "address, an offshore vendor, an invitee rejected before, ...), as the portal shows it; "
                   "empty once the request is decided."})


class WaitingLevelSchema(Schema):
    name = fields.String(metadata={"description": "the level of approval the request waits in"})
    title = fields.String(metadata={"description": "the level as pages name it"})
    role = fields.String(metadata={"description": "the role whose holders decide it now (the level's, or its "
                                                  "fallback's when every holder of the level's role is excluded)"})
    since = fields.DateTime(metadata={"description": "when the request entered the level"})
    reassigned_to = fields.String(allow_none=True, metadata={
        "description": "the person an administrator gave the level to decide (only they do), or null"})


# where a request waits among its levels of approval; null once it waits for none
LEVEL = fields.Nested(WaitingLevelSchema, dump_only=True, allow_none=True)


class InviteWithHistorySchema(InviteSchema):
    pending_decision = fields.String(dump_only=True, allow_none=True)
    level = LEVEL
    history = fields.List(fields.Nested(HistoryEntrySchema), dump_only=True)
    warnings = WARNINGS


class InviteListArgs(Schema):
    state = fields.String(validate=validate.OneOf(lifecycle.STATES))
    email = Rule(normalise_email, patterns.EMAIL, metadata={"description": "only the requests inviting this address"})
    requester = Rule(normalise_email, patterns.EMAIL, metadata={"description": "only the requests made by this address"})
    method = fields.String(validate=validate.OneOf(Method.ALL))
    batch = fields.String(metadata={**patterns.UUID, "description": "only the requests of this batch upload"})
    from_ = Moment(data_key="from")
    to = Moment()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200), metadata=patterns.CURSOR)


class InviteSummarySchema(InviteSchema):
    pending_decision = fields.String(dump_only=True, allow_none=True)
    level = LEVEL


class InvitePageSchema(Schema):
    items = fields.List(fields.Nested(InviteSummarySchema))
    next_cursor = fields.String(allow_none=True)


# the invite's fields a response shows, read once: a schema instance per call cost more than the dump
_INVITE_FIELDS = tuple(InviteSchema().fields)


def dump_invite(invite: InviteRequest, with_history: bool = True) -> dict:
    """The invite as a plain dict for the response schema to serialise (with its history if asked)."""
    data = {name: getattr(invite, name) for name in _INVITE_FIELDS}
    data["pending_decision"] = invite.pending_action
    data["level"] = waiting_level(invite)
    if with_history:
        data["history"] = [history.as_dict(e) for e in history.for_request(invite.id)]
    return data


def waiting_level(invite: InviteRequest) -> dict | None:
    """The level of approval the request waits in, or None once it waits for none."""
    if not lifecycle.is_undecided(invite) or not invite.level:
        return None
    return {"name": invite.level, "title": levels.level_named(invite.level, current_app.config["APPROVAL_POLICY"]).label,
            "role": invite.level_role, "since": invite.level_since, "reassigned_to": invite.assignee}


def approver_warnings(invites: list[InviteRequest]) -> dict[str, list[str]]:
    """The warnings an approver sees on each of `invites`, by id."""
    return decision_context.warnings_by_request(
        invites, current_app.config["ORG_DOMAINS"], current_app.config["REQUEST_EXPIRY_DAYS"])


INVITE_ID = patterns.id_in_path("invite_id")
IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "description": "Send the same key again to repeat a submission safely: the request is recorded once.",
    "schema": {"type": "string", **patterns.PRINTABLE_KEY},
}
SUBMIT_RULES = (
    "The body takes one of four shapes: an email invitation, or an account for a public officer, a vendor "
    "or an offshore vendor. A few rules need more than the body to check; a request breaking one is refused "
    "with 422 naming the field: `email` must be a public-officer address (a domain of ORG_EMAIL_DOMAINS or "
    "one of its subdomains) for an email invitation or a public officer's account, and must not be your own; "
    "`contact_number` must be a number in use; `username` must not be another account's or another open "
    "request's; `repeats` must be the id of one of your own requests that ended without its invitation "
    "(rejected, cancelled, expired, failed or closed), and the history of each request then names the other "
    "(the new one's `submit` entry has `details.repeats`, the earlier one gains a `requested_again` entry with "
    "`details.repeated_as`); an `Idempotency-Key` already used for a different request is refused. A person "
    "with an open request or an account already is a 409."
)
LIST_RULES = (
    "`cursor` must be the `next_cursor` of an earlier page, and `from` and `to` moments UTC can hold (years 1 "
    "to 9999 in UTC); any other is refused with 422 naming it."
)


@blp.route("/invites")
class Invites(MethodView):
    @limited("submit")
    @blp.doc(parameters=[IDEMPOTENCY_KEY], description=SUBMIT_RULES)
    @requires(guards.REQUESTER)
    @blp.arguments(InviteRequestSchema)
    @blp.response(201, InviteWithHistorySchema)
    @blp.alt_response(409, description="An open request for that email exists")
    @blp.alt_response(422, description="A field is wrong: {\"errors\": {field: [message]}}")
    def post(self, data):
        """Submit an invite request (email invitation or create account)."""
        caller = current_caller()
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key) <= 200 and key.isprintable()):
            raise InvalidInput({"Idempotency-Key": ["Use a printable key of at most 200 characters."]})
        outcome = service.submit(data, caller, current_app.extensions["outbox"], idempotency_key=key)
        return dump_invite(outcome.invite), 201

    @blp.doc(description=LIST_RULES)
    @blp.arguments(InviteListArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, InvitePageSchema)
    def get(self, limit, cursor=None, **filters):
        """List invite requests, newest first: requesters see their own, approvers and auditors all."""
        query = queries.filtered(
            queries.visible_to(current_caller()),
            states=(filters["state"],) if filters.get("state") else (),
            method=filters.get("method", ""),
            email=filters.get("email", ""),
            requester=filters.get("requester", ""),
            batch=filters.get("batch", ""),
            since=filters.get("from_"),
            until=filters.get("to"),
        )
        rows, next_cursor = queries.after_cursor(query, cursor, limit)
        return {"items": [dump_invite(r, with_history=False) for r in rows], "next_cursor": next_cursor}


@blp.route("/invites/<string:invite_id>", parameters=[INVITE_ID])
class InviteById(MethodView):
    @blp.response(200, InviteWithHistorySchema)
    def get(self, invite_id):
        """Show one invite request with its state and full history (and, to an approver, its warnings)."""
        caller = current_caller()
        invite = service.visible_invite(invite_id, caller)
        data = dump_invite(invite)
        if caller.is_approver:
            data["warnings"] = approver_warnings([invite])[invite.id]
        return data


class AcceptedSchema(Schema):
    id = fields.String()
    status = fields.String()
    state = fields.String()


@blp.route("/invites/<string:invite_id>/cancel", methods=["POST"], parameters=[INVITE_ID])
@blp.response(202, AcceptedSchema)
def cancel(invite_id):
    """Cancel your own request while it is still pending."""
    invite = service.cancel(invite_id, current_caller(), current_app.extensions["outbox"])
    return {"id": invite.id, "status": "cancel accepted", "state": invite.state}, 202


class CancellationResultSchema(Schema):
    id = fields.String(required=True)
    # the status the request's single cancel would answer
    status = fields.Integer(required=True, validate=validate.OneOf([202, 403, 404, 409]))
    outcome = fields.String(required=True, validate=validate.OneOf(
        [service.CANCEL_ACCEPTED, *service.CANCEL_REFUSALS, service.NOT_FOUND, service.NOT_THE_REQUESTER]))
    error = fields.String(required=True, allow_none=True)


class CancellationResultsSchema(Schema):
    results = fields.List(fields.Nested(CancellationResultSchema), required=True)


CANCEL_MANY_RULES = (
    "Each request at most once in a list: a list naming one twice is refused with 422 naming `ids` and the "
    "second one's place. Each result says what became of its request, with the status its single cancel "
    "would answer: 202 `cancel_accepted` (the state changes to `cancelled` once approval has applied it); "
    "409 `already_cancelled` (also when its cancellation is on its way: asking again cancels nothing twice), "
    "`already_approved`, `already_rejected`, `already_expired` or `no_longer_pending`; 404 `not_found` "
    "(no such request, or someone else's); 403 `not_the_requester` (someone else's request, "
    "named by an approver, who may see it). Each request is cancelled in a transaction of its own."
)


@blp.route("/invites/cancellations", methods=["POST"])
@requires(guards.REQUESTER)
@blp.doc(description=CANCEL_MANY_RULES)
@blp.arguments(BulkCancellationSchema)
@blp.response(200, CancellationResultsSchema)
@blp.alt_response(422, description="A field is wrong: {\"errors\": {field: [message]}}; an id, by its place in "
                                   "the list: {\"errors\": {\"ids\": {\"1\": [message]}}}")
def cancel_many(data):
    """Cancel many of your own pending requests at once; each gets the status its single cancel would give."""
    return {"results": service.cancel_many(data["ids"], current_caller(), current_app.extensions["outbox"])}


@blp.route("/invites/<string:invite_id>/resend", methods=["POST"], parameters=[INVITE_ID])
@limited("resend")
@blp.response(202, AcceptedSchema)
@blp.alt_response(409, description="Not emailed yet, or resent less than a day ago")
def resend(invite_id):
    """Send your emailed invitation again (at most once a day)."""
    invite = service.resend(invite_id, current_caller(), current_app.extensions["outbox"])
    return {"id": invite.id, "status": "resend accepted", "state": invite.state}, 202


@blp.route("/invites/<string:invite_id>/approve", methods=["POST"], parameters=[INVITE_ID])
@limited("decide")
@requires(guards.APPROVER)
@blp.arguments(ApproveSchema, required=False)
@blp.response(202, AcceptedSchema)
def approve(data, invite_id):
    """Approve a pending request made by someone else."""
    invite = service.decide(invite_id, current_caller(), Decision.APPROVE, data.get("comment") or "", current_app.extensions["outbox"])
    return {"id": invite.id, "status": "approval accepted", "state": invite.state}, 202


@blp.route("/invites/<string:invite_id>/reject", methods=["POST"], parameters=[INVITE_ID])
@limited("decide")
@requires(guards.APPROVER)
@blp.arguments(RejectSchema)
@blp.response(202, AcceptedSchema)
def reject(data, invite_id):
    """Reject a pending request made by someone else, saying why."""
    invite = service.decide(invite_id, current_caller(), Decision.REJECT, data["reason"], current_app.extensions["outbox"])
    return {"id": invite.id, "status": "rejection accepted", "state": invite.state}, 202


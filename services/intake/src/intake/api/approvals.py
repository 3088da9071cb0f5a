"""The approver's queue and bulk decisions (under /api/v1/approvals)."""
from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from invite_common.db import utcnow
from invite_common.messages import Decision
from marshmallow import RAISE, Schema, fields, validate

from intake import lifecycle
from intake.approvals import queue
from intake.validation import patterns
from intake.api.blueprint import Blueprint, requires
from intake.auth import guards
from intake.limits.rates import Bulk, limited
from intake.api.invites import WARNINGS, InviteSummarySchema, approver_warnings, dump_invite
from intake.auth.identity import current_caller
from intake.invites import service
from intake.approvals.decisions import BulkDecisionSchema

blp = Blueprint("approvals", __name__, url_prefix="/api/v1/approvals", description="Approver's queue")


class QueueArgs(queue.QueueFilterArgs):
    """The queue's filters, as the portal's page reads them too, and the API's paging."""

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200), metadata=patterns.CURSOR)


class QueueItemSchema(InviteSummarySchema):
    expires_at = fields.DateTime(dump_only=True)
    warnings = WARNINGS


class QueueSchema(Schema):
    items = fields.List(fields.Nested(QueueItemSchema))
    total = fields.Integer()
    next_cursor = fields.String(allow_none=True)


class DecisionResultSchema(Schema):
    id = fields.String()
    status = fields.Integer()
    # decided, already_decided, own_request, own_invitation, not_found
    outcome = fields.String()
    error = fields.String(allow_none=True)


class DecisionResultsSchema(Schema):
    results = fields.List(fields.Nested(DecisionResultSchema))


@blp.route("")
class Queue(MethodView):
    @blp.doc(description="`cursor` must be the `next_cursor` of an earlier page in the same `sort`; any other is refused "
                         "with 422 naming it.")
    @requires(guards.APPROVAL_QUEUE)
    @blp.arguments(QueueArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, QueueSchema)
    def get(self, limit, cursor=None, **filters):
        """The requests waiting for your decision, oldest first (or in the `sort` asked for), a page at a time;
        `total` counts them all (requests you made, or that invite you, are not in it: someone else decides those)."""
        caller = current_caller()
        wanted = queue.QueueFilters(**filters)
        query = queue.approver_queue(caller, wanted, utcnow())
        total = query.count()
        rows, next_cursor = queue.after_cursor(query, wanted.sort, cursor, limit)
        days = current_app.config["REQUEST_EXPIRY_DAYS"]
        warnings = approver_warnings(rows)
        items = [dump_invite(r, with_history=False) | {"expires_at": lifecycle.expires_at(r, days), "warnings": warnings[r.id]}
                 for r in rows]
        return {"items": items, "total": total, "next_cursor": next_cursor}


BULK_DECISIONS = BulkDecisionSchema()


def decisions_asked() -> int:
    """How many decisions a bulk decision body asks for; a body the schema refuses counts as one."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or BULK_DECISIONS.validate(body):
        return 1
    return len(body["decisions"])


@blp.route("/decisions", methods=["POST"])
@limited("decide", bulk=Bulk(
    decisions_asked, "decisions",
    "Give at most {amount:,} decisions at once: that is as many as one person may make in {window}."))
@requires(guards.APPROVER)
@blp.doc(description="Each request at most once in a list: a list deciding one twice is refused with 422 naming "
                     "`decisions` and the second item's `id`.")
@blp.arguments(BulkDecisionSchema)
@blp.response(200, DecisionResultsSchema)
@blp.alt_response(422, description="A field is wrong, or more decisions than the decide rate limit allows at once: "
                                   "{\"errors\": {\"decisions\": [message]}}")
@blp.alt_response(429, description="Over the decide rate limit, which counts each decision of a bulk; see Retry-After")
def decide_many(data):
    """Approve or reject many requests at once; each gets the status its single call would give,
    and each counts against the approver's decide rate limit."""
    items = [
        {"id": item["id"], "decision": item["decision"],
         "note": (item.get("comment") if item["decision"] == Decision.APPROVE else item.get("reason")) or ""}
        for item in data["decisions"]
    ]
    return {"results": service.decide_many(items, current_caller(), current_app.extensions["outbox"])}

"""The approver's queue and bulk decisions (under /api/v1/approvals)."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from invite_common.messages import Decision
from marshmallow import Schema, fields

from intake.api.blueprint import Blueprint
from intake.api.invites import InviteSummarySchema, dump_invite
from intake.errors import Conflict, Forbidden, NotFound
from intake.identity import current_caller
from intake.invites import service
from intake.invites.schemas import BulkDecisionSchema

blp = Blueprint("approvals", __name__, url_prefix="/api/v1/approvals", description="Approver's queue")


class QueueSchema(Schema):
    items = fields.List(fields.Nested(InviteSummarySchema))


class DecisionResultSchema(Schema):
    id = fields.String()
    status = fields.Integer()
    error = fields.String(allow_none=True)


class DecisionResultsSchema(Schema):
    results = fields.List(fields.Nested(DecisionResultSchema))


@blp.route("")
class Queue(MethodView):
    @blp.response(200, QueueSchema)
    def get(self):
        """The requests waiting for your decision, oldest first (your own are not in it)."""
        return {"items": [dump_invite(i, with_history=False) for i in service.pending_queue(current_caller(), limit=500)]}


@blp.route("/decisions", methods=["POST"])
@blp.arguments(BulkDecisionSchema)
@blp.response(200, DecisionResultsSchema)
def decide_many(data):
    """Approve or reject many requests at once; each gets the status its single call would give."""
    caller = current_caller()
    if not caller.is_approver:
        raise Forbidden("Only approvers can decide on requests.")
    outbox = current_app.extensions["outbox"]
    results = []
    for item in data["decisions"]:
        note = (item.get("comment") if item["decision"] == Decision.APPROVE else item.get("reason")) or ""
        try:
            service.decide(item["id"], caller, item["decision"], note, outbox)
            results.append({"id": item["id"], "status": 202, "error": None})
        except Forbidden as exc:
            results.append({"id": item["id"], "status": 403, "error": str(exc)})
        except NotFound:
            results.append({"id": item["id"], "status": 404, "error": "No such request."})
        except Conflict as exc:
            results.append({"id": item["id"], "status": 409, "error": str(exc)})
    return {"results": results}

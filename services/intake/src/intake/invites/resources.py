"""The invites API: submit, read, list, cancel, approve and reject (under /api/v1)."""
from __future__ import annotations

import base64
import functools
import datetime as dt

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from intake import history
from intake.errors import InvalidInput, NotFound
from intake.identity import current_caller
from intake.invites import service
from intake.invites.schemas import ApproveSchema, InviteRequestSchema, InviteSchema, RejectSchema
from intake.models import InviteRequest

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
    hash = fields.String()


class InviteWithHistorySchema(InviteSchema):
    pending_decision = fields.String(dump_only=True, allow_none=True)
    history = fields.List(fields.Nested(HistoryEntrySchema), dump_only=True)


class InviteListArgs(Schema):
    state = fields.String()
    email = fields.String()
    requester = fields.String()
    method = fields.String(validate=validate.OneOf(["email_invitation", "create_account"]))
    batch = fields.String()
    from_ = fields.AwareDateTime(data_key="from", default_timezone=dt.timezone.utc)
    to = fields.AwareDateTime(default_timezone=dt.timezone.utc)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String()


class InviteSummarySchema(InviteSchema):
    pending_decision = fields.String(dump_only=True, allow_none=True)


class InvitePageSchema(Schema):
    items = fields.List(fields.Nested(InviteSummarySchema))
    next_cursor = fields.String(allow_none=True)


@functools.lru_cache(maxsize=8)
def invite_request_schema(org_domains: tuple[str, ...]) -> InviteRequestSchema:
    """The submission schema for these organisation domains, built once: building one cost more
    than loading a request with it, and loading keeps no state on the instance."""
    return InviteRequestSchema(org_domains=org_domains)


# the invite's fields a response shows, read once: a schema instance per call cost more than the dump
_INVITE_FIELDS = tuple(InviteSchema().fields)


def dump_invite(invite: InviteRequest, with_history: bool = True) -> dict:
    """The invite as a plain dict for the response schema to serialise (with its history if asked)."""
    data = {name: getattr(invite, name) for name in _INVITE_FIELDS}
    data["pending_decision"] = invite.pending_action
    if with_history:
        data["history"] = [history.as_dict(e) for e in history.for_request(invite.id)]
    return data


def _encode_cursor(invite: InviteRequest) -> str:
    raw = f"{invite.created_at.isoformat()}|{invite.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        created, _, invite_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return dt.datetime.fromisoformat(created), invite_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput({"cursor": ["This cursor is not one the API gave out."]}) from None


@blp.route("/invites")
class Invites(MethodView):
    @blp.doc(
        requestBody={"required": True, "content": {"application/json": {"schema": "InviteRequest"}}},
        parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}, "required": False}],
    )
    @blp.response(201, InviteWithHistorySchema)
    @blp.alt_response(409, description="An open request for that email exists")
    @blp.alt_response(422, description="A field is wrong: {\"errors\": {field: [message]}}")
    def post(self):
        """Submit an invite request (email invitation or create account)."""
        caller = current_caller()
        service.require_requester(caller)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InvalidInput({"_body": ["Send the request as a JSON object."]})
        try:
            data = invite_request_schema(tuple(current_app.config["ORG_DOMAINS"])).load(body)
        except ValidationError as exc:
            raise InvalidInput(exc.messages) from None
        key = request.headers.get("Idempotency-Key")
        if key is not None and not (0 < len(key) <= 200 and key.isprintable()):
            raise InvalidInput({"Idempotency-Key": ["Use a printable key of at most 200 characters."]})
        outcome = service.submit(data, caller, current_app.extensions["outbox"], idempotency_key=key)
        return dump_invite(outcome.invite), 201

    @blp.arguments(InviteListArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, InvitePageSchema)
    def get(self, limit, cursor=None, **filters):
        """List invite requests, newest first: requesters see their own, approvers and auditors all."""
        caller = current_caller()
        query = InviteRequest.select()
        if not (caller.is_approver or caller.is_auditor):
            query = query.where(InviteRequest.requester == caller.email)
        column = {"state": InviteRequest.state, "email": InviteRequest.email, "requester": InviteRequest.requester,
                  "method": InviteRequest.method, "batch": InviteRequest.batch_id}
        for name, col in column.items():
            if filters.get(name):
                value = filters[name].strip().lower() if name in ("email", "requester") else filters[name]
                query = query.where(col == value)
        if filters.get("from_"):
            query = query.where(InviteRequest.created_at >= filters["from_"])
        if filters.get("to"):
            query = query.where(InviteRequest.created_at < filters["to"])
        if cursor:
            created, invite_id = _decode_cursor(cursor)
            query = query.where(
                (InviteRequest.created_at < created)
                | ((InviteRequest.created_at == created) & (InviteRequest.id < invite_id))
            )
        rows = list(query.order_by(InviteRequest.created_at.desc(), InviteRequest.id.desc()).limit(limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [dump_invite(r, with_history=False) for r in rows],
            "next_cursor": _encode_cursor(rows[-1]) if more else None,
        }


@blp.route("/invites/<string:invite_id>")
class InviteById(MethodView):
    @blp.response(200, InviteWithHistorySchema)
    def get(self, invite_id):
        """Show one invite request with its state and full history."""
        return dump_invite(service.visible_invite(invite_id, current_caller()))


class AcceptedSchema(Schema):
    id = fields.String()
    status = fields.String()
    state = fields.String()


@blp.route("/invites/<string:invite_id>/cancel", methods=["POST"])
@blp.response(202, AcceptedSchema)
def cancel(invite_id):
    """Cancel your own request while it is still pending."""
    invite = service.cancel(invite_id, current_caller(), current_app.extensions["outbox"])
    return {"id": invite.id, "status": "cancel accepted", "state": invite.state}, 202


@blp.route("/invites/<string:invite_id>/resend", methods=["POST"])
@blp.response(202, AcceptedSchema)
@blp.alt_response(409, description="Not emailed yet, or resent less than a day ago")
def resend(invite_id):
    """Send your emailed invitation again (at most once a day)."""
    invite = service.resend(invite_id, current_caller(), current_app.extensions["outbox"])
    return {"id": invite.id, "status": "resend accepted", "state": invite.state}, 202


def _body(schema_cls) -> dict:
    body = request.get_json(silent=True)
    if body is None and not request.data:
        body = {}
    if not isinstance(body, dict):
        raise InvalidInput({"_body": ["Send the request as a JSON object."]})
    try:
        return schema_cls().load(body)
    except ValidationError as exc:
        raise InvalidInput(exc.messages) from None


@blp.route("/invites/<string:invite_id>/approve", methods=["POST"])
@blp.doc(requestBody={"content": {"application/json": {"schema": "Approve"}}})
@blp.response(202, AcceptedSchema)
def approve(invite_id):
    """Approve a pending request made by someone else."""
    data = _body(ApproveSchema)
    invite = service.decide(invite_id, current_caller(), "approve", data.get("comment") or "", current_app.extensions["outbox"])
    return {"id": invite.id, "status": "approval accepted", "state": invite.state}, 202


@blp.route("/invites/<string:invite_id>/reject", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": "Reject"}}})
@blp.response(202, AcceptedSchema)
def reject(invite_id):
    """Reject a pending request made by someone else, saying why."""
    data = _body(RejectSchema)
    invite = service.decide(invite_id, current_caller(), "reject", data["reason"], current_app.extensions["outbox"])
    return {"id": invite.id, "status": "rejection accepted", "state": invite.state}, 202


__all__ = ["blp", "dump_invite", "NotFound"]

"""The audit API under /api/v1/audit, for auditors only: events, CSV and JSON Lines exports, verify."""
from __future__ import annotations

import base64
import datetime as dt

from flask import current_app
from flask.views import MethodView
from invite_common.messages import Method, State
from marshmallow import RAISE, Schema, fields, validate

from intake.api.blueprint import Blueprint
from intake.audit import export, keys, queries
from intake.audit.verify import verify
from intake.errors import Forbidden, InvalidInput
from intake.identity import Caller, current_caller

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Auditors: history, exports, integrity")


def require_auditor() -> Caller:
    """The caller, if an auditor; everyone else is refused (403)."""
    caller = current_caller()
    if not caller.is_auditor:
        raise Forbidden("Only auditors can read the audit history.")
    return caller


class FilterArgs(Schema):
    requester = fields.String(validate=validate.Length(max=254))
    email = fields.String(validate=validate.Length(max=254))
    approver = fields.String(validate=validate.Length(max=254))
    state = fields.String(validate=validate.OneOf(State.ALL))
    method = fields.String(validate=validate.OneOf(Method.ALL))
    batch = fields.String(validate=validate.Length(max=36))
    request_id = fields.String(validate=validate.Length(max=36))
    from_ = fields.AwareDateTime(data_key="from", default_timezone=dt.timezone.utc)
    to = fields.AwareDateTime(default_timezone=dt.timezone.utc)


class EventArgs(FilterArgs):
    order = fields.String(load_default="newest", validate=validate.OneOf(["newest", "oldest"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=100))


class AuditEventSchema(Schema):
    id = fields.Integer()
    position = fields.Integer(allow_none=True, metadata={"description": "place in the chain; null until linked"})
    at = fields.String()
    request_id = fields.String()
    event = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor = fields.String()
    note = fields.String()
    details = fields.Dict()
    hash = fields.String(allow_none=True)
    invitee_email = fields.String()
    requester = fields.String()
    method = fields.String()
    request_state = fields.String()
    batch_id = fields.String(allow_none=True)


class AuditEventPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    next_cursor = fields.String(allow_none=True)


class VerificationSchema(Schema):
    intact = fields.Boolean()
    checked = fields.Integer()
    first_bad = fields.Dict(allow_none=True)
    reason = fields.String(allow_none=True)
    last_signed_head = fields.Dict(allow_none=True)
    unlinked = fields.Integer(metadata={"description": "entries appended but not chained yet"})
    unsigned = fields.Integer(metadata={"description": "chained entries after the last signed head"})
    heads_checked = fields.Integer()


def _encode_cursor(cursor: queries.Cursor) -> str:
    at, entry_id = cursor
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{entry_id}".encode()).decode()


def _decode_cursor(cursor: str) -> queries.Cursor:
    try:
        at, _, entry_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment = dt.datetime.fromisoformat(at)
        if entry_id.isdigit() and moment.tzinfo is not None:
            return moment, int(entry_id)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidInput({"cursor": ["This cursor is not one the API gave out."]})


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, AuditEventPageSchema)
    def get(self, order, limit, cursor=None, **filters):
        """List recorded events matching the filters, newest (or oldest) first, a page at a time."""
        require_auditor()
        after = _decode_cursor(cursor) if cursor else None
        items, last = queries.events_page(queries.Filters.of(filters), newest_first=order == "newest",
                                          after=after, limit=limit)
        return {"items": items, "next_cursor": _encode_cursor(last) if last is not None else None}


@blp.route("/export.csv")
class ExportCsv(MethodView):
    @blp.arguments(FilterArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, description="CSV (RFC 4180), streamed; formula-like cells neutralised",
                  content_type="text/csv")
    def get(self, **filters):
        """Export the matching events as CSV, oldest first, safe to open in a spreadsheet."""
        require_auditor()
        return export.download(queries.Filters.of(filters), "csv")


@blp.route("/export.jsonl")
class ExportJsonl(MethodView):
    @blp.arguments(FilterArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, description="JSON Lines, streamed", content_type="application/x-ndjson")
    def get(self, **filters):
        """Export the matching events as JSON Lines, oldest first."""
        require_auditor()
        return export.download(queries.Filters.of(filters), "jsonl")


@blp.route("/verify")
class Verify(MethodView):
    @blp.response(200, VerificationSchema)
    def get(self):
        """Verify the whole history chain and its signed heads; name the first bad entry."""
        require_auditor()
        return verify(keys.verify_keys(current_app.extensions["settings"])).as_dict()

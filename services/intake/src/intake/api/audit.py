"""The audit API under /api/v1/audit, for auditors only: events, role changes, CSV and JSON Lines exports, verify."""
from __future__ import annotations

import base64
import datetime as dt
import re

from flask import current_app
from flask.views import MethodView
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from invite_common.messages import Method

from intake import lifecycle
from intake.validation import patterns
from intake.api.blueprint import Blueprint, requires
from intake.auth import guards
from intake.audit import export, keys, queries, role_changes, stand_ins
from intake.audit.filters import FilterArgs, Filters
from intake.audit.verify import verify
from intake.errors import InvalidInput, NotFound
from intake.validation.rules import check_moment

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Auditors: history, exports, integrity")


class EventArgs(FilterArgs):
    order = fields.String(load_default="newest", validate=validate.OneOf(["newest", "oldest"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=100), metadata=patterns.CURSOR)


def _text(description: str, **kwargs) -> fields.String:
    return fields.String(required=True, metadata={"description": description}, **kwargs)


def _when(description: str, **kwargs) -> fields.String:
    # already formatted by the query (UTC ISO 8601): dumped as given, documented as a date-time
    return fields.String(required=True, metadata={"description": description, "format": "date-time"}, **kwargs)


class AuditEventSchema(Schema):
    """One recorded event with its request; entries that belong to no request (role changes) have
    null request fields, since the history is joined to requests with an outer join."""

    id = fields.Integer(required=True, metadata={"description": "the history entry's id"})
    position = fields.Integer(required=True, allow_none=True,
                              metadata={"description": "place in the chain; null until linked"})
    at = _when("when it happened, UTC")
    request_id = _text("the request it belongs to, or the fixed key of role changes")
    event = _text("what happened, e.g. submit, approve, role_granted")
    from_state = _text("the request's state before; null when the event changed none", allow_none=True)
    to_state = _text("the request's state after; null when the event changed none", allow_none=True)
    actor = _text("who did it (a pseudonym once the request's personal data is erased)")
    note = _text("the reason or comment recorded with it; empty when none")
    details = fields.Dict(required=True, metadata={"description": "facts particular to the event"})
    hash = _text("the entry's chain hash; null until linked", allow_none=True)
    invitee_email = _text("the invitee's email; null for events of no request", allow_none=True)
    requester = _text("who asked; null for events of no request", allow_none=True)
    method = fields.String(required=True, allow_none=True, validate=validate.OneOf(Method.ALL),
                           metadata={"description": "the request's method; null for events of no request"})
    request_state = fields.String(required=True, allow_none=True, validate=validate.OneOf(lifecycle.STATES),
                                  metadata={"description": "the request's state now; null for events of no request"})
    batch_id = _text("the batch the request came in; null if none", allow_none=True)


class RoleChangeArgs(role_changes.RoleFilterArgs):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=100), metadata=patterns.CURSOR)


class RoleChangeSchema(Schema):
    """One role grant or revocation, as the history records it."""

    id = fields.Integer(required=True, metadata={"description": "the history entry's id; names the change for good"})
    position = fields.Integer(required=True, allow_none=True,
                              metadata={"description": "place in the chain; null until linked"})
    at = _when("when it happened, UTC")
    event = fields.String(required=True, validate=validate.OneOf(role_changes.EVENTS),
                          metadata={"description": "role_granted or role_revoked"})
    role = _text("the role given or taken away")
    person = _text("who was given it or lost it")
    by = _text("who made the change (ROLE_GRANTS when the service's setting did)")
    hash = _text("the entry's chain hash; null until linked", allow_none=True)


class RoleChangePageSchema(Schema):
    """One page of role changes and where the next one starts."""

    items = fields.List(fields.Nested(RoleChangeSchema), required=True)
    next_cursor = _text("pass as `cursor` for the next page; null on the last page", allow_none=True)


class StandInArgs(stand_ins.StandInFilterArgs):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = fields.String(validate=validate.Length(max=100), metadata=patterns.CURSOR)


class StandInEntrySchema(Schema):
    """A stand-in named or ended, as the history records it."""

    id = fields.Integer(required=True, metadata={"description": "the history entry's id"})
    position = fields.Integer(required=True, allow_none=True,
                              metadata={"description": "place in the chain; null until linked"})
    at = _when("when it was recorded, UTC")
    event = fields.String(required=True, validate=validate.OneOf(stand_ins.EVENTS),
                          metadata={"description": "stand_in_named or stand_in_ended"})
    delegation = _text("the stand-in's id")
    approver = _text("the approver who named the stand-in")
    stand_in = _text("who stands in")
    roles = fields.List(fields.String(), required=True,
                        metadata={"description": "the approver's deciding roles the stand-in decides with"})
    starts_at = _when("when the stand-in starts, UTC")
    ends_at = _when("when the stand-in ends (as named), UTC")
    by = _text("who named or ended it: the approver, or an administrator who ended it")
    hash = _text("the entry's chain hash; null until linked", allow_none=True)


class StandInPageSchema(Schema):
    """One page of stand-in entries and where the next one starts."""

    items = fields.List(fields.Nested(StandInEntrySchema), required=True)
    next_cursor = _text("pass as `cursor` for the next page; null on the last page", allow_none=True)


class AuditEventPageSchema(Schema):
    """One page of events and where the next one starts."""

    items = fields.List(fields.Nested(AuditEventSchema), required=True)
    next_cursor = _text("pass as `cursor` for the next page; null on the last page", allow_none=True)


class SignedHeadSchema(Schema):
    """The last signed statement of the chain's end."""

    position = fields.Integer(required=True, metadata={"description": "the chain position it covers"})
    hash = _text("the hash of the entry at that position")
    signed_at = _when("when it was signed")
    key_id = _text("the signing key's id")


class FirstBadSchema(Schema):
    """The first entry (or position) verification found wrong, and why."""

    position = fields.Integer(required=True)
    id = fields.Integer(required=True, allow_none=True,
                        metadata={"description": "the entry's id; null when the entries there are missing"})
    # present when there is an entry at the bad position
    request_id = fields.String()
    event = fields.String()
    actor = fields.String()
    at = fields.String(metadata={"format": "date-time"})
    problem = _text("what is wrong there")


class VerificationSchema(Schema):
    """What verifying the whole chain found."""

    intact = fields.Boolean(required=True)
    checked = fields.Integer(required=True, metadata={"description": "entries checked"})
    first_bad = fields.Nested(FirstBadSchema, required=True, allow_none=True,
                              metadata={"description": "null when intact"})
    reason = _text("why it is not intact; null when intact", allow_none=True)
    last_signed_head = fields.Nested(SignedHeadSchema, required=True, allow_none=True,
                                     metadata={"description": "null before the first head is signed"})
    unlinked = fields.Integer(required=True, metadata={"description": "entries appended but not chained yet"})
    unsigned = fields.Integer(required=True, metadata={"description": "chained entries after the last signed head"})
    heads_checked = fields.Integer(required=True)


# what every export answer carries besides its body
DOWNLOAD_HEADERS = {
    "Content-Disposition": {"description": "attachment, with a file name stamped with the time of export",
                            "schema": {"type": "string"}},
    "Cache-Control": {"description": "no-store: exports hold personal data", "schema": {"type": "string"}},
}


_ENTRY_ID = re.compile(r"[0-9]{1,19}")


def _encode_cursor(cursor: queries.Cursor) -> str:
    at, entry_id = cursor
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{entry_id}".encode()).decode()


def _decode_cursor(cursor: str) -> queries.Cursor:
    try:
        at, _, entry_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment = dt.datetime.fromisoformat(at)
        # an id the database's 64-bit column can hold, and a moment UTC can hold (not year 1 at +14:00):
        # anything else fails in the query instead of here
        if _ENTRY_ID.fullmatch(entry_id) and int(entry_id) < 2**63 and moment.tzinfo is not None:
            return check_moment(moment), int(entry_id)
    except (ValueError, UnicodeDecodeError, ValidationError):
        pass
    raise InvalidInput({"cursor": ["This cursor is not one the API gave out."]})


EVENTS_RULES = ("`cursor` must be the `next_cursor` of an earlier page, and `from` and `to` moments UTC can hold "
                "(years 1 to 9999 in UTC); any other is refused with 422 naming it.")
EXPORT_RULES = ("`from` and `to` must be moments UTC can hold (years 1 to 9999 in UTC); any other is refused with "
                "422 naming it.")


@blp.route("/events")
class Events(MethodView):
    @blp.doc(description=EVENTS_RULES)
    @requires(guards.AUDITOR)
    @blp.arguments(EventArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, AuditEventPageSchema)
    def get(self, order, limit, cursor=None, **filters):
        """List recorded events matching the filters, newest (or oldest) first, a page at a time."""
        after = _decode_cursor(cursor) if cursor else None
        items, last = queries.events_page(Filters.of(filters), newest_first=order == "newest",
                                          after=after, limit=limit)
        return {"items": items, "next_cursor": _encode_cursor(last) if last is not None else None}


@blp.route("/role-changes")
class RoleChanges(MethodView):
    @blp.doc(description=EVENTS_RULES)
    @requires(guards.AUDITOR)
    @blp.arguments(RoleChangeArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, RoleChangePageSchema)
    def get(self, limit, cursor=None, **filters):
        """List role grants and revocations by person, role, who made them and time, newest first."""
        after = _decode_cursor(cursor) if cursor else None
        items, last = role_changes.page(role_changes.RoleFilters.of(filters), after=after, limit=limit)
        return {"items": items, "next_cursor": _encode_cursor(last) if last is not None else None}


@blp.route("/delegations")
class StandIns(MethodView):
    @blp.doc(description="`cursor` must be the `next_cursor` of an earlier page; any other is refused with 422 "
                         "naming it.")
    @requires(guards.AUDITOR)
    @blp.arguments(StandInArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, StandInPageSchema)
    def get(self, limit, cursor=None, person=""):
        """List the stand-ins approvers named and those ended early, newest first, about one person if asked."""
        after = _decode_cursor(cursor) if cursor else None
        items, last = stand_ins.page(person, after=after, limit=limit)
        return {"items": items, "next_cursor": _encode_cursor(last) if last is not None else None}


@blp.route("/role-changes/<int:entry_id>")
class RoleChange(MethodView):
    @requires(guards.AUDITOR)
    @blp.response(200, RoleChangeSchema)
    @blp.alt_response(404, description="no role change has that id")
    def get(self, entry_id):
        """Show one role grant or revocation by its id."""
        entry = role_changes.get(entry_id) if entry_id < 2**63 else None
        if entry is None:
            raise NotFound(str(entry_id))
        return role_changes.as_dict(entry)


@blp.route("/export.csv")
class ExportCsv(MethodView):
    @blp.doc(description=EXPORT_RULES)
    @requires(guards.AUDITOR)
    @blp.arguments(FilterArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, {"type": "string"}, content_type="text/csv", headers=DOWNLOAD_HEADERS,
                  description="CSV (RFC 4180, UTF-8 with a byte-order mark), streamed, for people and "
                              "spreadsheets: a heading row, then one row per event in the portal's words, "
                              "times in Singapore time (`2026-12-07 14:05:09`, heading `Time (SGT)`), each "
                              "detail in a column of its own; formula-like cells neutralised. Scripts should "
                              "read the JSON Lines export, whose fields are the API's")
    def get(self, **filters):
        """Export the matching events as CSV, oldest first, safe to open in a spreadsheet."""
        return export.download(Filters.of(filters), "csv")


@blp.route("/export.jsonl")
class ExportJsonl(MethodView):
    @blp.doc(description=EXPORT_RULES)
    @requires(guards.AUDITOR)
    @blp.arguments(FilterArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, {"type": "string"}, content_type="application/x-ndjson", headers=DOWNLOAD_HEADERS,
                  description="JSON Lines (UTF-8), streamed: one AuditEvent object per line")
    def get(self, **filters):
        """Export the matching events as JSON Lines, oldest first."""
        return export.download(Filters.of(filters), "jsonl")


@blp.route("/verify")
class Verify(MethodView):
    @requires(guards.AUDITOR)
    @blp.response(200, VerificationSchema)
    def get(self):
        """Verify the whole history chain and its signed heads; name the first bad entry."""
        return verify(keys.verify_keys(current_app.extensions["settings"])).as_dict()

"""The batch upload API: templates, upload a draft, review, edit, remove and submit its rows (under /api/v1)."""
from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from marshmallow import RAISE, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from intake.validation import patterns
from intake.api.blueprint import Blueprint, requires
from intake.auth import guards
from intake.limits.rates import limited
from intake.batches import service
from intake.batches.columns import FIELDS
from intake.batches.filetypes import ACCEPTED, MAX_FILE_BYTES, TOO_LARGE
from intake.batches.parsing import MAX_ROWS
from intake.batches.schemas import (
    PAGE_SIZE, DraftSchema, PageArgs, RemovalArgs, RemovalSchema, RestoredSchema, RowSchema, SubmittedSchema,
)
from intake.errors import InvalidInput
from intake.approvals import levels, previews
from intake.auth.identity import current_caller

blp = Blueprint("batches", __name__, url_prefix="/api/v1", description="Batch upload of create-account requests")

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH_ID = patterns.id_in_path("batch_id")

# The file part is judged by its content, never its declared type: the document names the two it may hold.
UPLOAD = {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"],
               "additionalProperties": False},
    "encoding": {"file": {"contentType": f"text/csv, {_XLSX}"}},
}}}
UPLOAD_RULES = (
    f"`file` is a CSV file (UTF-8, UTF-16 with a BOM, or Windows-1252) or an Excel workbook (.xlsx) of at most "
    f"{MAX_FILE_BYTES // (1024 * 1024)} MB, laid out as the template: headings in the first row (every required "
    f"column present, none twice), then 1 to {MAX_ROWS:,} requests. A file not laid out so, or too costly to "
    "read, is refused with 422 naming `file`; a file of another kind, whatever its declared type, with 415. "
    "A row's own problems refuse nothing: the draft lists them for the requester to fix."
)
# The cells to change, as text the way a file gives them (a yes/no answer may be a boolean; null
# empties a cell); any other field is refused. The row is checked again and lists its problems.
_CELL = {"type": "string", "nullable": True}
_YES_NO_CELL = {"anyOf": [_CELL, {"type": "boolean"}]}
ROW_CHANGES = {"required": True, "content": {"application/json": {"schema": {
    "type": "object",
    "properties": {name: _YES_NO_CELL if name in ("seed_onboarding", "offshore") else _CELL for name in FIELDS},
    "additionalProperties": False,
    "minProperties": 1,
}}}}

# Exactly one of two forms: the rows to take out, or every row that needs attention.
REMOVAL = {"required": True, "content": {"application/json": {"schema": {"oneOf": [
    {"type": "object", "required": ["rows"], "additionalProperties": False, "properties": {"rows": {
        "type": "array", "minItems": 1, "maxItems": MAX_ROWS, "uniqueItems": True,
        "description": "row numbers as in the file (the heading is row 1)",
        "items": {"type": "integer", "minimum": 2, "maximum": MAX_ROWS + 1}}}},
    {"type": "object", "required": ["needing_attention"], "additionalProperties": False, "properties": {
        "needing_attention": {"type": "boolean", "enum": [True],
                              "description": "every row with a problem of its own, and every later copy of a "
                                             "person (the first copy stays)"}}},
]}}}}


def _draft_page(draft, *, errors_only: bool = False, offset: int = 0, limit: int = PAGE_SIZE):
    """The draft's summary and one page of its rows, as JSON (built directly: a page can be large)."""
    body = service.summary(draft)
    page = service.rows(draft, errors_only=errors_only, offset=offset, limit=limit)
    total = body["error_count"] if errors_only else body["row_count"]
    body |= {
        "offset": offset,
        "limit": limit,
        "next_offset": offset + limit if offset + limit < total else None,
        "rows": with_levels(page),
    }
    return jsonify(body)


def with_levels(rows: list[dict]) -> list[dict]:
    """Each row with the levels of approval it would pass and who can decide each, as the review page shows
    them; the role table's holders are read once for all the rows."""
    holders, requester = levels.Holders.of_app(), current_caller().email
    for row in rows:
        row["levels"] = [previews.level_json(w)
                         for w in levels.preview(previews.of_cells(row["fields"], requester), holders)]
    return rows


@blp.route("/batches/template.csv")
@requires(guards.REQUESTER)
@blp.doc(responses={200: {"description": "The CSV template: the heading row", "content": {"text/csv": {}}}})
def template_csv():
    """Download the CSV template: the headings, in order, and nothing else."""
    return Response(
        service.template_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="invite-requests-template.csv"'},
    )


@blp.route("/batches/template.xlsx")
@requires(guards.REQUESTER)
@blp.doc(responses={200: {"description": "The Excel template, with guidance", "content": {_XLSX: {}}}})
def template_xlsx():
    """Download the Excel template: the headings on the first sheet, how to fill them in on the second."""
    return Response(
        service.template_xlsx(),
        mimetype=_XLSX,
        headers={"Content-Disposition": 'attachment; filename="invite-requests-template.xlsx"'},
    )


@blp.route("/batches", methods=["POST"])
@limited("upload")
@requires(guards.REQUESTER)
@blp.doc(requestBody=UPLOAD, description=UPLOAD_RULES)
@blp.response(201, DraftSchema)
@blp.alt_response(413, description="The file is larger than 5 MB")
@blp.alt_response(415, description="Neither a CSV file nor an Excel workbook (.xlsx)")
@blp.alt_response(422, description="The file cannot be used: {\"errors\": {\"file\": [message]}}")
def upload():
    """Upload a CSV or xlsx file of create-account requests; every row is checked and kept as a draft."""
    caller = current_caller()
    try:
        sent = request.files.get("file")
    except RequestEntityTooLarge:
        raise service.TooLarge(TOO_LARGE) from None
    if sent is None:
        raise InvalidInput({"file": [f"Choose a file to upload. {ACCEPTED}"]})
    # one byte more than allowed is enough to tell the file is too large, without reading it all
    data = sent.stream.read(MAX_FILE_BYTES + 1)
    draft = service.create_draft(
        data, sent.filename or "", caller, current_app.config["ORG_DOMAINS"],
        parse_seconds=current_app.extensions["settings"].upload_parse_seconds,
    )
    response = _draft_page(draft)
    response.status_code = 201
    return response


@blp.route("/batches/<string:batch_id>", parameters=[BATCH_ID])
class Batch(MethodView):
    @blp.arguments(PageArgs, location="query", unknown=RAISE, as_kwargs=True)
    @blp.response(200, DraftSchema)
    def get(self, batch_id, **page):
        """Show a draft: its counts for the whole file and a page of its rows (errors_only, offset, limit)."""
        return _draft_page(service.get_draft(batch_id, current_caller()), **page)


@blp.route("/batches/<string:batch_id>/rows/<row_number:row>", parameters=[BATCH_ID])
class BatchRowById(MethodView):
    @blp.doc(requestBody=ROW_CHANGES)
    @blp.response(200, RowSchema)
    def patch(self, batch_id, row):
        """Change some fields of a row; the row comes back checked again."""
        caller = current_caller()
        draft = service.get_draft(batch_id, caller)
        changes = request.get_json(silent=True)
        if not isinstance(changes, dict) or not changes:
            raise InvalidInput({"_body": ["Send the fields to change as a JSON object."]})
        return jsonify(with_levels([service.update_row(draft, row, changes, caller, current_app.config["ORG_DOMAINS"])])[0])

    @blp.response(204)
    def delete(self, batch_id, row):
        """Remove a row from the draft."""
        caller = current_caller()
        service.remove_row(service.get_draft(batch_id, caller), row, caller)
        return "", 204


@blp.route("/batches/<string:batch_id>/rows", methods=["DELETE"], parameters=[BATCH_ID])
@blp.response(204)
def reset(batch_id):
    """Remove every row of the draft, to upload again."""
    caller = current_caller()
    service.reset(service.get_draft(batch_id, caller), caller)
    return "", 204


@blp.route("/batches/<string:batch_id>/removals", methods=["POST"], parameters=[BATCH_ID])
@blp.doc(requestBody=REMOVAL,
         description="Rows named that the draft does not have refuse the whole removal with 422 naming `rows`. "
                     "The removal can be undone until the draft is submitted or emptied.")
@blp.response(201, RemovalSchema)
@blp.alt_response(409, description="Already submitted")
@blp.alt_response(422, description="The body is not one of the two forms, or names rows the draft lacks: "
                                   "{\"errors\": {field: [message]}}")
def remove_rows(batch_id):
    """Take rows out of a draft at once (the rows named, or every row that needs attention), so it can be undone."""
    caller = current_caller()
    draft = service.get_draft(batch_id, caller)
    sent = request.get_json(silent=True)
    if not isinstance(sent, dict):
        raise InvalidInput({"_body": ["Send the rows to remove as a JSON object."]})
    try:
        data = RemovalArgs().load(sent)
    except ValidationError as exc:
        raise InvalidInput(exc.normalized_messages()) from None
    if data.get("needing_attention"):
        removed = service.remove_rows_needing_attention(draft, caller)
    else:
        removed = service.remove_rows(draft, data["rows"], caller)
    return {"id": removed.id, "rows": removed.rows, "duplicate_count": removed.duplicate_count}, 201


@blp.route("/batches/<string:batch_id>/removals/<string:removal_id>/undo", methods=["POST"],
           parameters=[BATCH_ID, patterns.id_in_path("removal_id")])
@blp.response(200, RestoredSchema)
@blp.alt_response(404, description="No such removal: none was made, or it was undone already")
@blp.alt_response(409, description="Already submitted")
def undo_removal(batch_id, removal_id):
    """Put the rows of a removal back where they were in the file."""
    caller = current_caller()
    draft = service.get_draft(batch_id, caller)
    return {"rows": service.undo_removal(draft, removal_id, caller)}


@blp.route("/batches/<string:batch_id>/submit", methods=["POST"], parameters=[BATCH_ID])
@limited("batch_submit")
@blp.doc(description="A draft is submitted whole: while any row has a problem, or none is left, it is refused "
                     "with 422 naming `batch`, with the rows to fix.")
@blp.response(201, SubmittedSchema)
@blp.alt_response(409, description="Already submitted")
@blp.alt_response(422, description="Rows need attention: {\"errors\": {...}, \"rows\": [rows with errors]}")
def submit(batch_id):
    """Submit every row as an invite request, all or none."""
    caller = current_caller()
    draft = service.get_draft(batch_id, caller)
    # after the draft is found: someone else's is not found, whoever asks (only its requester may
    # submit it, and only while they still are one)
    guards.REQUESTER.check(caller)
    ids = service.submit_draft(draft, caller, current_app.extensions["outbox"], current_app.config["ORG_DOMAINS"])
    return {"invites": ids}, 201

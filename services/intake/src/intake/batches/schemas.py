"""Marshmallow schemas of the batch API: paging arguments and the documented shapes of drafts and rows."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from intake.batches.parsing import MAX_ROWS

PAGE_SIZE = 200


class RowSchema(Schema):
    """One row of a draft: its number in the file, its cells as given, its problems by field."""

    row = fields.Integer()
    cells = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields")
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class DraftSchema(Schema):
    """A draft with counts for the whole file and one page of its rows."""

    id = fields.String()
    filename = fields.String()
    created_at = fields.String()
    status = fields.String()
    row_count = fields.Integer()
    error_count = fields.Integer()
    unknown_columns = fields.List(fields.String())
    offset = fields.Integer()
    limit = fields.Integer()
    next_offset = fields.Integer(allow_none=True)
    rows = fields.List(fields.Nested(RowSchema))


class PageArgs(Schema):
    """Which rows of a draft to show: only those with errors, and which page."""

    errors_only = fields.Boolean(load_default=False)
    # beyond MAX_ROWS an offset can only be a mistake (or a probe of 64-bit columns)
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ROWS))
    limit = fields.Integer(load_default=PAGE_SIZE, validate=validate.Range(min=1, max=MAX_ROWS))


class SubmittedSchema(Schema):
    """The invite requests a submitted batch created, in row order."""

    invites = fields.List(fields.String())

"""Marshmallow schemas of the batch API: paging arguments and the documented shapes of drafts and rows."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from intake.validation.edge import EdgeSchema

from intake.batches.parsing import MAX_ROWS

PAGE_SIZE = 200


class LevelSchema(Schema):
    """One level of approval a row would pass: who can decide it (the holders the role table knows, by
    address; none known: any holder of `role`), whether it went to its fallback role, and the policy rule
    that approves it in a person's place (null when a person decides it)."""

    name = fields.String()
    title = fields.String()
    role = fields.String()
    names = fields.List(fields.String())
    fallback = fields.Boolean()
    approved_by = fields.String(allow_none=True)


class RowSchema(Schema):
    """One row of a draft: its number in the file, its cells as given, its problems by field, and the levels
    of approval it would pass, in order."""

    row = fields.Integer()
    cells = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields")
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    levels = fields.List(fields.Nested(LevelSchema))


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


class RemovalArgs(EdgeSchema):
    """Which rows to take out of a draft: the rows named, or every row that needs attention (never both)."""

    rows = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=2, max=MAX_ROWS + 1)),
        validate=validate.Length(min=1, max=MAX_ROWS, error="Name between 1 and {max} rows."),
        metadata={"uniqueItems": True, "description": "row numbers as in the file (the heading is row 1)"},
    )
    needing_attention = fields.Boolean(
        truthy={True}, falsy={False},
        metadata={"description": "true: every row with a problem of its own, and every later copy of a person "
                                 "(the first copy stays)"},
    )

    @validates_schema
    def check_one_choice(self, data, **kwargs):
        """Refuse a body naming both, or neither, kinds of removal."""
        if ("rows" in data) == bool(data.get("needing_attention")):
            raise ValidationError("Give either `rows` or `needing_attention: true`.", "_schema")
        if "rows" in data and len(set(data["rows"])) != len(data["rows"]):
            raise ValidationError("Name each row once.", "rows")


class RemovalSchema(Schema):
    """Rows taken out of a draft, kept so that taking them out can be undone."""

    id = fields.String(metadata={"description": "the removal, to undo it"})
    rows = fields.List(fields.Integer(), metadata={"description": "the rows taken out, in file order"})
    duplicate_count = fields.Integer(metadata={"description": "how many were later copies of a person already in the draft"})


class RestoredSchema(Schema):
    """The rows an undone removal put back where they were."""

    rows = fields.List(fields.Integer())

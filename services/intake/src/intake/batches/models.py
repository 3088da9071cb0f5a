"""Batch drafts and their rows: what was uploaded, as the requester is reviewing and fixing it."""
from __future__ import annotations

import peewee

from invite_common.db import UTCDateTimeField, utcnow

from intake.db import BaseModel

DRAFT = "draft"
SUBMITTED = "submitted"


class BatchDraft(BaseModel):
    """One uploaded file of requests, kept until its requester submits it."""

    id = peewee.CharField(max_length=36, primary_key=True)
    requester = peewee.CharField(max_length=254, index=True)
    # a display-safe version of the uploaded name, never used as a path
    filename = peewee.CharField(max_length=255)
    created_at = UTCDateTimeField(default=utcnow)
    submitted_at = UTCDateTimeField(null=True)
    status = peewee.CharField(max_length=16, default=DRAFT)
    unknown_columns = peewee.TextField(default="[]")

    class Meta:
        table_name = "batch_draft"


class BatchRow(BaseModel):
    """One request of a draft: the cells as given, and what is wrong with them."""

    id = peewee.AutoField()
    draft = peewee.ForeignKeyField(BatchDraft, backref="rows", on_delete="CASCADE", index=False)
    # the row number the requester sees in the file (the heading is row 1)
    row = peewee.IntegerField()
    fields = peewee.TextField()
    # the row's own problems (its cells, the field rules, open requests) as {field: [message]}
    errors = peewee.TextField(default="{}")
    # other rows of the draft with the same email or username, as {"email": [row, ...]}
    duplicates = peewee.TextField(default="{}")
    has_errors = peewee.BooleanField(default=False)
    # the normalised email and vendor username, compared across rows and with open requests
    email_key = peewee.CharField(max_length=254, null=True)
    username_key = peewee.CharField(max_length=64, null=True)

    class Meta:
        table_name = "batch_row"
        indexes = ((("draft", "row"), True),)

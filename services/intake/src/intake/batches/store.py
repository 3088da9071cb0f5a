"""Keep drafts and their rows in intake's database, and read them back as the API shows them."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import peewee

from invite_common.db import utcnow

from intake.batches.columns import FIELDS
from intake.batches.validation import CheckedRow, describe_duplicates, find_duplicates
from intake.db import database
from intake.models import BatchDraft, BatchRow, DraftStatus

_INSERT_CHUNK = 200


def dumps(value) -> str:
    """JSON as stored in a row's text columns."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def row_values(checked: CheckedRow, duplicates: dict[str, list[int]]) -> dict:
    """The columns of a BatchRow for a checked row and the other rows it shares a key with."""
    return {
        "row": checked.row,
        "fields": dumps(checked.fields),
        "errors": dumps(checked.errors),
        "duplicates": dumps(duplicates),
        "has_errors": bool(checked.errors or duplicates),
        "email_key": checked.email_key,
        "username_key": checked.username_key,
    }


def save_draft(requester: str, filename: str, unknown_columns: list[str], rows: list[CheckedRow]) -> BatchDraft:
    """Store a new draft with all its rows in one transaction."""
    duplicates = find_duplicates((r.row, r.email_key, r.username_key) for r in rows)
    with database.atomic():
        draft = BatchDraft.create(
            id=str(uuid.uuid4()),
            requester=requester,
            filename=filename,
            created_at=utcnow(),
            unknown_columns=dumps(unknown_columns),
        )
        values = [row_values(r, duplicates.get(r.row, {})) | {"draft": draft.id} for r in rows]
        for start in range(0, len(values), _INSERT_CHUNK):
            BatchRow.insert_many(values[start:start + _INSERT_CHUNK]).execute()
    return draft


def as_dict(row: BatchRow) -> dict:
    """A row as the API and the pages show it: its cells, and every problem by field."""
    errors = json.loads(row.errors)
    for name, messages in describe_duplicates(json.loads(row.duplicates)).items():
        errors[name] = errors.get(name, []) + messages
    return {
        "row": row.row,
        "fields": json.loads(row.fields),
        "errors": {name: errors[name] for name in FIELDS if name in errors},
    }


def select_rows(draft: BatchDraft, *, errors_only: bool = False):
    query = BatchRow.select().where(BatchRow.draft == draft.id)
    if errors_only:
        query = query.where(BatchRow.has_errors == True)  # noqa: E712 (peewee builds SQL from ==)
    return query.order_by(BatchRow.row)


def counts(draft: BatchDraft) -> tuple[int, int]:
    """Return (rows, rows with errors) for the whole draft."""
    rows = BatchRow.select().where(BatchRow.draft == draft.id).count()
    with_errors = BatchRow.select().where((BatchRow.draft == draft.id) & (BatchRow.has_errors == True)).count()  # noqa: E712
    return rows, with_errors


def get_row(draft: BatchDraft, row: int) -> BatchRow | None:
    return BatchRow.get_or_none((BatchRow.draft == draft.id) & (BatchRow.row == row))


def refresh_duplicates(draft: BatchDraft, emails: set, usernames: set) -> None:
    """Recompute the duplicate flags of the rows holding any of these keys; update those whose answer changed."""
    emails, usernames = emails - {None}, usernames - {None}
    if not emails and not usernames:
        return
    # every row holding an affected key is read, so each key's group of rows is complete
    holding = list(
        BatchRow.select(BatchRow.id, BatchRow.row, BatchRow.errors, BatchRow.duplicates, BatchRow.email_key,
                        BatchRow.username_key)
        .where((BatchRow.draft == draft.id)
               & (BatchRow.email_key.in_(sorted(emails)) | BatchRow.username_key.in_(sorted(usernames))))
    )
    groups: dict[tuple[str, str], list[int]] = {}
    for r in holding:
        for name, key, affected in (("email", r.email_key, emails), ("username", r.username_key, usernames)):
            if key in affected:
                groups.setdefault((name, key), []).append(r.row)
    for r in holding:
        before = json.loads(r.duplicates)
        after = dict(before)
        for name, key in (("email", r.email_key), ("username", r.username_key)):
            if (name, key) in groups:
                others = sorted(row for row in groups[(name, key)] if row != r.row)
                after.pop(name, None)
                if others:
                    after[name] = others
        if after != before:
            after = {name: after[name] for name in FIELDS if name in after}
            BatchRow.update(duplicates=dumps(after), has_errors=r.errors != "{}" or bool(after)).where(
                BatchRow.id == r.id
            ).execute()


def record_errors(draft: BatchDraft, errors_by_row: dict[int, dict[str, list[str]]], duplicated: set[int]) -> None:
    """Replace the own errors of some rows (as found when submitting); `duplicated` rows share a key with another."""
    with database.atomic():
        for row, errors in errors_by_row.items():
            BatchRow.update(errors=dumps(errors), has_errors=bool(errors) or row in duplicated).where(
                (BatchRow.draft == draft.id) & (BatchRow.row == row)
            ).execute()


@dataclass
class OpenDraft:
    """A batch its requester has not submitted yet, with how many rows it has and how many need attention."""

    id: str
    filename: str
    created_at: dt.datetime
    rows: int
    attention: int


def open_drafts(requester: str, limit: int = 5) -> list[OpenDraft]:
    """The requester's batches not yet submitted that still have rows, newest first."""
    attention = peewee.fn.SUM(peewee.Case(None, [(BatchRow.has_errors == True, 1)], 0))  # noqa: E712
    query = (
        BatchDraft.select(BatchDraft.id, BatchDraft.filename, BatchDraft.created_at,
                          peewee.fn.COUNT(BatchRow.id).alias("rows"), attention.alias("attention"))
        .join(BatchRow, on=(BatchRow.draft == BatchDraft.id))
        .where((BatchDraft.requester == requester) & (BatchDraft.status == DraftStatus.OPEN))
        .group_by(BatchDraft.id, BatchDraft.filename, BatchDraft.created_at)
        .order_by(BatchDraft.created_at.desc(), BatchDraft.id)
        .limit(limit)
    )
    return [OpenDraft(d.id, d.filename, d.created_at, d.rows, int(d.attention or 0)) for d in query.objects()]

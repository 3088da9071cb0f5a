"""Taking rows out of a draft so it can be undone: which rows go, and putting them back where they were.

Removed rows are kept whole (cells, own problems, keys) in one BatchRemoval per action until it is
undone or the draft is submitted, reset or expires. A row's number is its place in the file and is
never given to another row, so restoring puts each row back exactly where it was. Duplicate flags
are not kept: they are worked out again from the rows present, before and after.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from invite_common.db import utcnow

from intake.batches import store
from intake.models import BatchDraft, BatchRemoval, BatchRow

_CHUNK = 500
# the columns kept for each removed row: all of them but the id and the derived duplicate flags
_KEPT = ("row", "fields", "errors", "email_key", "username_key")


@dataclass(frozen=True)
class AttentionPlan:
    """The rows that "remove every row that needs attention" takes out, and why.

    `later_copies` only repeat a person (email or username) that a row staying in the draft holds;
    `other_problems` have a problem of their own. Each person keeps their first row without
    problems of its own, so removing the copies never drops the person from the batch."""

    later_copies: list[int]
    other_problems: list[int]

    @property
    def rows(self) -> list[int]:
        return sorted(self.later_copies + self.other_problems)


@dataclass(frozen=True)
class Removed:
    """One removal: its id (to undo it), the rows taken out in file order, how many were later copies."""

    id: str
    rows: list[int]
    duplicate_count: int = 0


def plan_attention_removal(draft: BatchDraft) -> AttentionPlan:
    """Decide which flagged rows go: every row with a problem of its own, and every later copy of a person."""
    flagged = list(store.select_rows(draft, errors_only=True))
    other = [r.row for r in flagged if r.errors != "{}"]
    # rows flagged only as duplicates, in file order: the first of each person stays, later ones go
    kept_keys: set[tuple[str, str]] = set()
    copies = []
    for r in flagged:
        if r.errors != "{}":
            continue
        keys = {("email", r.email_key), ("username", r.username_key)} - {("email", None), ("username", None)}
        if keys & kept_keys:
            copies.append(r.row)
        else:
            kept_keys |= keys
    return AttentionPlan(later_copies=copies, other_problems=other)


def take_out(draft: BatchDraft, numbers: list[int], duplicate_count: int = 0) -> Removed:
    """Delete these rows from the draft, keeping them to undo; the caller holds the draft's lock."""
    taken = list(BatchRow.select().where((BatchRow.draft == draft.id) & BatchRow.row.in_(numbers)).order_by(BatchRow.row))
    removal = BatchRemoval.create(
        id=str(uuid.uuid4()), draft=draft.id, created_at=utcnow(), duplicate_count=duplicate_count,
        rows=store.dumps([{name: getattr(r, name) for name in _KEPT} for r in taken]),
    )
    ids = [r.id for r in taken]
    for start in range(0, len(ids), _CHUNK):
        BatchRow.delete().where(BatchRow.id.in_(ids[start:start + _CHUNK])).execute()
    store.refresh_duplicates(draft, {r.email_key for r in taken}, {r.username_key for r in taken})
    return Removed(removal.id, [r.row for r in taken], duplicate_count)


def find(draft: BatchDraft, removal_id: str) -> Removed | None:
    """The draft's removal with this id, while it can still be undone."""
    found = BatchRemoval.get_or_none((BatchRemoval.id == removal_id) & (BatchRemoval.draft == draft.id)) \
        if len(removal_id) <= 36 else None
    if found is None:
        return None
    return Removed(found.id, [r["row"] for r in json.loads(found.rows)], found.duplicate_count)


def put_back(draft: BatchDraft, removal_id: str) -> list[int] | None:
    """Restore a removal's rows where they were and forget it; None when there is no such removal.

    The caller holds the draft's lock. A row number present again (it cannot be, short of a
    corrupted draft) is left as it is rather than overwritten."""
    found = BatchRemoval.get_or_none((BatchRemoval.id == removal_id) & (BatchRemoval.draft == draft.id)) \
        if len(removal_id) <= 36 else None
    if found is None:
        return None
    kept = json.loads(found.rows)
    present = {r.row for r in BatchRow.select(BatchRow.row).where(
        (BatchRow.draft == draft.id) & BatchRow.row.in_([r["row"] for r in kept]))}
    values = [r | {"draft": draft.id, "duplicates": "{}", "has_errors": r["errors"] != "{}"}
              for r in kept if r["row"] not in present]
    for start in range(0, len(values), _CHUNK):
        BatchRow.insert_many(values[start:start + _CHUNK]).execute()
    found.delete_instance()
    store.refresh_duplicates(draft, {r["email_key"] for r in values}, {r["username_key"] for r in values})
    return [r["row"] for r in values]


def forget(draft: BatchDraft) -> None:
    """Drop every removal of the draft: it was submitted or emptied, so nothing is left to undo."""
    BatchRemoval.delete().where(BatchRemoval.draft == draft.id).execute()

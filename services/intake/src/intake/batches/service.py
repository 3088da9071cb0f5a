"""What a requester does with a batch: upload it as a draft, review and fix rows, submit every row at once."""
from __future__ import annotations

import json
import operator
from functools import reduce

import peewee
from flask import current_app, has_app_context

from intake.settings import DEFAULTS
from invite_common.db import for_update, utcnow
from invite_common.outbox import Outbox

from intake.invites import directory
from intake.batches import expiry, isolation, removals, store
from intake.batches.removals import AttentionPlan, Removed
from intake.batches.columns import COLUMNS, FIELDS
from intake.batches.filetypes import TooLarge, UnsupportedFile
from intake.batches.parsing import CELL_KEPT, BadFile, display_text
from intake.batches.templates import template_csv, template_xlsx
from intake.batches.validation import RowChecker, check_open_requests, user_type_of
from intake.db import database
from intake.errors import Conflict, InvalidInput, NotFound
from intake.auth.identity import Caller
from intake.invites import service as invites
from intake.invites.schemas import vendor_with_officer_address
from intake.models import BatchDraft, BatchRow, DraftStatus

__all__ = [
    "COLUMNS", "TooLarge", "UnsupportedFile", "create_draft", "get_draft", "summary", "rows", "get_row",
    "update_row", "remove_row", "remove_rows", "plan_attention_removal", "remove_rows_needing_attention", "find_removal",
    "undo_removal", "locate_row",
    "vendors_at_officer_addresses", "reset", "submit_draft", "template_csv", "template_xlsx",
]

NOT_ACCEPTED = "This field is not accepted; remove it."
ALREADY_SUBMITTED = "This batch was already submitted."
NO_ROWS = "The batch has no rows to submit; upload a file first."
# rows sent back with a refused submit; the rest are a GET with errors_only away
SHOWN_ROWS = 200


class _Abandon(Exception):
    """Leave the submit transaction, undoing every invite it created."""


def create_draft(
    data: bytes, filename: str, caller: Caller, org_domains, *, parse_seconds: float = isolation.DEFAULT_BUDGET
) -> BatchDraft:
    """Read an uploaded file (within `parse_seconds`), check every row and keep it all as a draft for its requester to review."""
    try:
        parsed = isolation.parse_within(data, filename or "", parse_seconds)
    except BadFile as error:
        raise InvalidInput({"file": [str(error)]}) from None
    checker = RowChecker(org_domains)
    checked = [checker.check(number, fields) for number, fields in parsed.rows]
    check_open_requests(checked, caller, directory.people_holding(c.email for c in checked if c.email))
    return store.save_draft(caller.email, _display_filename(filename), parsed.unknown_columns, checked)


def _display_filename(filename: str) -> str:
    # only ever shown: the last path part, on one line, without hidden characters
    name = display_text((filename or "").replace("\\", "/").rsplit("/", 1)[-1], 200)
    return name or "upload"


def get_draft(batch_id: str, caller: Caller) -> BatchDraft:
    """Return the caller's own draft; anyone else's, an expired one, or none, is NotFound."""
    draft = BatchDraft.get_or_none(BatchDraft.id == batch_id) if len(batch_id) <= 36 else None
    if draft is None or draft.requester != caller.email or expiry.is_expired(draft, _expiry_days()):
        raise NotFound(batch_id)
    return draft


def _expiry_days() -> float:
    # the running app's setting; the default outside one (scripts, the sweeper's own tests)
    if has_app_context() and "settings" in current_app.extensions:
        return current_app.extensions["settings"].draft_expiry_days
    return DEFAULTS.draft_expiry_days


def summary(draft: BatchDraft) -> dict:
    """The draft without its rows: counts are always for the whole draft."""
    row_count, error_count = store.counts(draft)
    return {
        "id": draft.id,
        "filename": draft.filename,
        "created_at": draft.created_at.isoformat(),
        "row_count": row_count,
        "error_count": error_count,
        "unknown_columns": json.loads(draft.unknown_columns),
        "status": draft.status,
    }


def rows(draft: BatchDraft, *, errors_only: bool = False, offset: int = 0, limit: int | None = None) -> list[dict]:
    """The draft's rows in file order, [{"row", "fields", "errors"}], optionally only those with errors, a page at a time."""
    query = store.select_rows(draft, errors_only=errors_only).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [store.as_dict(r) for r in query]


def get_row(draft: BatchDraft, row: int) -> dict:
    """One row of the draft by its number in the file, as `rows` gives it; NotFound when there is none."""
    found = store.get_row(draft, row)
    if found is None:
        raise NotFound(row)
    return store.as_dict(found)


def _editable(draft: BatchDraft, caller: Caller) -> None:
    if draft.requester != caller.email:
        raise NotFound(draft.id)
    if draft.status != DraftStatus.OPEN:
        raise Conflict(ALREADY_SUBMITTED)


def _lock(draft: BatchDraft) -> None:
    """Hold the draft until the transaction ends, so edits and a submit of one draft take turns."""
    current = for_update(BatchDraft.select(BatchDraft.status).where(BatchDraft.id == draft.id)).first()
    if current is None or current.status != DraftStatus.OPEN:
        raise Conflict(ALREADY_SUBMITTED)


def update_row(draft: BatchDraft, row: int, changes: dict, caller: Caller, org_domains) -> dict:
    """Change some fields of a row, check it again, and re-flag duplicates on every row affected."""
    _editable(draft, caller)
    unknown = {name: [NOT_ACCEPTED] for name in changes if name not in FIELDS}
    if unknown:
        raise InvalidInput(unknown)
    not_text = {name: ["Give the value as text."] for name, value in changes.items() if not _cell_value_ok(value)}
    if not_text:
        raise InvalidInput(not_text)
    in_directory: set[str] = set()
    if directory.configured():
        # asked before the row is locked: a slow directory must not hold the draft
        before = store.get_row(draft, row)
        if before is not None:
            fields = json.loads(before.fields) | {name: _cell_text(value) for name, value in changes.items()}
            email = RowChecker(org_domains).check(row, fields).email
            in_directory = directory.people_holding([email]) if email else set()
    with database.atomic():
        _lock(draft)
        current = store.get_row(draft, row)
        if current is None:
            raise NotFound(row)
        fields = json.loads(current.fields) | {name: _cell_text(value) for name, value in changes.items()}
        checked = RowChecker(org_domains).check(row, fields)
        check_open_requests([checked], caller, in_directory)
        # the row's duplicates are worked out again below, with every row sharing its old or new keys
        BatchRow.update(**store.row_values(checked, {})).where(BatchRow.id == current.id).execute()
        store.refresh_duplicates(
            draft, {current.email_key, checked.email_key}, {current.username_key, checked.username_key}
        )
        return store.as_dict(BatchRow.get_by_id(current.id))


def _cell_value_ok(value) -> bool:
    return value is None or isinstance(value, (str, bool))


def _cell_text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    # kept as an upload keeps it: long enough to be refused, never stored whole
    return (value or "")[:CELL_KEPT]


def remove_row(draft: BatchDraft, row: int, caller: Caller) -> Removed:
    """Take a row out of the draft, kept so it can be put back; rows it duplicated lose that flag."""
    _editable(draft, caller)
    with database.atomic():
        _lock(draft)
        if store.get_row(draft, row) is None:
            raise NotFound(row)
        return removals.take_out(draft, [row])


def remove_rows(draft: BatchDraft, numbers: list[int], caller: Caller) -> Removed:
    """Take the rows named out of the draft at once, kept so they can be put back; all or none."""
    _editable(draft, caller)
    with database.atomic():
        _lock(draft)
        present = {r.row for r in BatchRow.select(BatchRow.row).where(
            (BatchRow.draft == draft.id) & BatchRow.row.in_(numbers))}
        missing = sorted(set(numbers) - present)
        if missing:
            raise InvalidInput({"rows": [f"The batch has no row {', '.join(map(str, missing[:10]))}"
                                         f"{' and more' if len(missing) > 10 else ''}; nothing was removed."]})
        return removals.take_out(draft, numbers)


def plan_attention_removal(draft: BatchDraft) -> AttentionPlan:
    """Which rows removing those that need attention would take out: later copies of a person, and rows with other problems."""
    return removals.plan_attention_removal(draft)


def remove_rows_needing_attention(draft: BatchDraft, caller: Caller) -> Removed:
    """Take out every row with a problem of its own and every later copy of a person; the first copy stays."""
    _editable(draft, caller)
    with database.atomic():
        _lock(draft)
        plan = removals.plan_attention_removal(draft)
        return removals.take_out(draft, plan.rows, len(plan.later_copies))


def find_removal(draft: BatchDraft, removal_id: str) -> Removed | None:
    """A removal of this draft that can still be undone."""
    return removals.find(draft, removal_id)


def undo_removal(draft: BatchDraft, removal_id: str, caller: Caller) -> list[int]:
    """Put a removal's rows back where they were; return their row numbers (NotFound once undone)."""
    _editable(draft, caller)
    with database.atomic():
        _lock(draft)
        restored = removals.put_back(draft, removal_id)
    if restored is None:
        raise NotFound(removal_id)
    return restored


def vendors_at_officer_addresses(draft: BatchDraft, org_domains) -> list[int]:
    """The rows asking for a vendor at a public-officer address: allowed, once the requester confirms."""
    domains = tuple(org_domains)
    near = reduce(operator.or_, [BatchRow.email_key.endswith(d) for d in domains])
    candidates = BatchRow.select(BatchRow.row, BatchRow.fields, BatchRow.email_key).where(
        (BatchRow.draft == draft.id) & near).order_by(BatchRow.row)
    found = []
    for r in candidates:
        user_type = user_type_of(json.loads(r.fields).get("user_type", ""))
        if vendor_with_officer_address({"email": r.email_key, "user_type": user_type}, domains):
            found.append(r.row)
    return found


def locate_row(draft: BatchDraft, row: int, *, errors_only: bool = False) -> tuple[int, int] | None:
    """Find `row` among the rows shown (or the next one after it, else the last before it).

    Returns (row number, its position among the rows shown), so a page can return to where the
    requester was after an edit or a removal; None when no row is shown."""
    shown = store.select_rows(draft, errors_only=errors_only)
    found = shown.where(BatchRow.row >= row).first() or shown.order_by(BatchRow.row.desc()).first()
    if found is None:
        return None
    return found.row, shown.where(BatchRow.row < found.row).count()


def reset(draft: BatchDraft, caller: Caller) -> None:
    """Remove every row of the draft, to start again."""
    _editable(draft, caller)
    with database.atomic():
        _lock(draft)
        BatchRow.delete().where(BatchRow.draft == draft.id).execute()
        removals.forget(draft)


RACED = "Another request for one of these emails or usernames was made just now. Nothing was submitted; submit again to see which rows need attention."


def submit_draft(draft: BatchDraft, caller: Caller, outbox: Outbox, org_domains) -> list[str]:
    """Turn every row into an invite request, all or none; return the new requests' ids in row order."""
    _editable(draft, caller)
    if not store.counts(draft)[0]:
        raise InvalidInput({"batch": [NO_ROWS], "rows": []})
    refreshed: dict[int, dict[str, list[str]]] = {}
    duplicated: set[int] = set()
    ids: list[str] = []
    # accounts made outside this system, asked for before the transaction opens: by each row's
    # address as typed (its cell) and its person key
    in_directory = directory.people_holding(
        address for r in BatchRow.select(BatchRow.email_key, BatchRow.fields).where(BatchRow.draft == draft.id)
        if r.email_key for address in (r.email_key, str(json.loads(r.fields).get("email") or "").strip().lower())
    ) if directory.configured() else set()
    try:
        with database.atomic():
            claimed = (
                BatchDraft.update(status=DraftStatus.SUBMITTED, submitted_at=utcnow())
                .where((BatchDraft.id == draft.id) & (BatchDraft.status == DraftStatus.OPEN))
                .execute()
            )
            if not claimed:
                raise Conflict(ALREADY_SUBMITTED)
            stored = list(store.select_rows(draft))
            if not stored:
                raise InvalidInput({"batch": [NO_ROWS], "rows": []})
            # every row is checked again: requests opened or closed since the upload, or changed
            # organisation domains, make stored errors stale in both directions
            checker = RowChecker(org_domains)
            checked = [checker.check(r.row, json.loads(r.fields)) for r in stored]
            check_open_requests(checked, caller, in_directory)
            refreshed = {c.row: c.errors for c, r in zip(checked, stored) if store.dumps(c.errors) != r.errors}
            duplicated = {r.row for r in stored if r.duplicates != "{}"}
            if duplicated or any(c.errors for c in checked):
                raise _Abandon
            ids = invites.submit_many([c.data for c in checked], caller, outbox, batch_id=draft.id)
            removals.forget(draft)
    except peewee.IntegrityError:
        # a request for one of these emails or usernames was opened between the check and the insert
        raise InvalidInput({"batch": [RACED], "rows": []}) from None
    except _Abandon:
        store.record_errors(draft, refreshed, duplicated)
        raise _rows_need_attention(draft) from None
    outbox.notify()
    draft.status = DraftStatus.SUBMITTED
    return ids


def _rows_need_attention(draft: BatchDraft) -> InvalidInput:
    count = store.counts(draft)[1]
    with_errors = rows(draft, errors_only=True, limit=SHOWN_ROWS)
    message = f"{count} row{'s' if count != 1 else ''} need{'s' if count == 1 else ''} attention before the batch can be submitted."
    return InvalidInput({"batch": [message], "rows": with_errors})

"""The append-only request history that status pages and auditors read; `consumer` keeps it from approval's events.

Appending only inserts a row, inside the caller's transaction and without any lock: the entry is
linked into the tamper-evident chain afterwards, in one order, by the history linker
(`intake.audit.chain`), so no request or message waits for the chain.
"""
from __future__ import annotations

import datetime as dt
import json

from invite_common.statements import Statements

from intake.models import HistoryEntry

# SQL built once: every submission and state event appends (invite_common.statements)
_entries = Statements(HistoryEntry)


def _row(request_id: str, event: str, *, actor: str, at: dt.datetime, from_state: str | None = None,
         to_state: str | None = None, note: str = "", details: dict | None = None,
         source_seq: int | None = None, message_id: str | None = None) -> dict:
    return {
        "request_id": request_id,
        "event": event,
        "from_state": from_state,
        "to_state": to_state,
        "actor": actor,
        "note": note or "",
        "details": json.dumps(details or {}, sort_keys=True),
        "at": at.astimezone(dt.timezone.utc),
        "source_seq": source_seq,
        "message_id": message_id,
    }


def append(request_id: str, event: str, **fields) -> None:
    """Append one entry; call inside the transaction of the change it records.

    Fields: actor, at, and optionally from_state, to_state, note, details, source_seq, message_id."""
    _entries.insert(_row(request_id, event, **fields))


def append_if_new(request_id: str, event: str, **fields) -> bool:
    """Append an entry of approval's unless the history already holds that move (the unique
    request id and source_seq say so); True when it was new. One statement for the look and the write."""
    return _entries.insert(_row(request_id, event, **fields), ignore=True) == 1


def append_many(entries: list[dict]) -> None:
    """Append several entries (each a dict of append's arguments) in order; call inside a transaction."""
    rows = [_row(**fields) for fields in entries]
    for start in range(0, len(rows), 500):
        HistoryEntry.insert_many(rows[start:start + 500]).execute()


def last_recorded(request_id: str, event: str) -> dt.datetime | None:
    """When the request's latest entry of `event` was recorded, or None."""
    last = (HistoryEntry.select(HistoryEntry.at)
            .where((HistoryEntry.request_id == request_id) & (HistoryEntry.event == event))
            .order_by(HistoryEntry.id.desc()).first())
    return None if last is None else last.at


def for_request(request_id: str) -> list[HistoryEntry]:
    """A request's history in the order it was recorded."""
    return _entries.all(order_by="id", request_id=request_id)


def as_dict(entry: HistoryEntry) -> dict:
    """The entry as the API and the pages show it; `hash` is null until the linker has chained it."""
    return {
        "seq": entry.id,
        "event": entry.event,
        "from_state": entry.from_state,
        "to_state": entry.to_state,
        "actor": entry.actor,
        "note": entry.note,
        "details": json.loads(entry.details or "{}"),
        "at": entry.at.isoformat(),
        "hash": entry.hash,
    }

"""The append-only, hash-chained request history that status pages and auditors read.

Each entry's hash covers its content and the previous entry's hash, so editing, removing or
reordering any recorded entry breaks every hash after it, and `verify` finds the first one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import peewee

from intake.db import database
from intake.models import HistoryEntry, history_entries

GENESIS = "0" * 64
# an arbitrary constant naming the lock that serialises appends to the chain on PostgreSQL
_CHAIN_LOCK = 7_241_017


def _canonical(entry: HistoryEntry) -> str:
    return json.dumps(
        {
            "id": entry.id,
            "request_id": entry.request_id,
            "event": entry.event,
            "from_state": entry.from_state,
            "to_state": entry.to_state,
            "actor": entry.actor,
            "note": entry.note,
            "details": json.loads(entry.details or "{}"),
            "at": entry.at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
            "source_seq": entry.source_seq,
            "prev_hash": entry.prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def compute_hash(entry: HistoryEntry) -> str:
    return hashlib.sha256(_canonical(entry).encode()).hexdigest()


def _lock_chain() -> HistoryEntry | None:
    """Serialise appends (on PostgreSQL; SQLite's write lock already does) and return the last entry."""
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCK,))
    st = history_entries
    sql = st.sql(("last",), lambda param, pg: f'SELECT {st.column("id")}, {st.column("hash")} FROM "{st.table}" ORDER BY {st.column("id")} DESC LIMIT 1')
    row = st.execute(sql).fetchone()
    return HistoryEntry(id=row[0], hash=row[1]) if row else None


def _chained(last_id: int, prev_hash: str, request_id: str, event: str, *, actor: str, at: dt.datetime,
             from_state: str | None = None, to_state: str | None = None, note: str = "",
             details: dict | None = None, source_seq: int | None = None, message_id: str | None = None) -> HistoryEntry:
    entry = HistoryEntry(
        id=last_id + 1,
        request_id=request_id,
        event=event,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        note=note or "",
        details=json.dumps(details or {}, sort_keys=True),
        at=at.astimezone(dt.timezone.utc),
        source_seq=source_seq,
        message_id=message_id,
        prev_hash=prev_hash,
    )
    entry.hash = compute_hash(entry)
    return entry


def append(request_id: str, event: str, **fields) -> HistoryEntry:
    """Append one entry to the chain; call inside a transaction.

    Fields: actor, at, and optionally from_state, to_state, note, details, source_seq, message_id."""
    last = _lock_chain()
    entry = _chained(last.id if last else 0, last.hash if last else GENESIS, request_id, event, **fields)
    history_entries.insert(entry.__data__)  # SQL built once (invite_common.statements), as save() would write
    return entry


def append_many(entries: list[dict]) -> None:
    """Append several entries (each a dict of append's arguments) in order; call inside a transaction."""
    last = _lock_chain()
    last_id, prev_hash = (last.id, last.hash) if last else (0, GENESIS)
    rows = []
    for fields in entries:
        fields = dict(fields)
        entry = _chained(last_id, prev_hash, fields.pop("request_id"), fields.pop("event"), **fields)
        rows.append(entry)
        last_id, prev_hash = entry.id, entry.hash
    # insert_many with the ids spelled out: bulk_create would leave the id to the database's sequence
    data = [{f.name: getattr(e, f.name) for f in HistoryEntry._meta.sorted_fields} for e in rows]
    for start in range(0, len(data), 500):
        HistoryEntry.insert_many(data[start:start + 500]).execute()


def for_request(request_id: str) -> list[HistoryEntry]:
    """A request's history in the order it happened."""
    return history_entries.all(order_by="id", request_id=request_id)


def as_dict(entry: HistoryEntry) -> dict:
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


def verify(batch: int = 1000) -> dict:
    """Walk the whole chain; report whether it is intact, how many entries were checked, and the first bad one."""
    prev_hash, expected_id, checked = GENESIS, 1, 0
    last_id = 0
    while True:
        rows = list(HistoryEntry.select().where(HistoryEntry.id > last_id).order_by(HistoryEntry.id).limit(batch))
        if not rows:
            break
        for entry in rows:
            checked += 1
            problem = None
            if entry.id != expected_id:
                problem = f"entry {expected_id} is missing"
            elif entry.prev_hash != prev_hash:
                problem = "does not follow the entry before it"
            elif compute_hash(entry) != entry.hash:
                problem = "content does not match its hash"
            if problem:
                return {"intact": False, "checked": checked, "first_bad": as_dict(entry) | {"problem": problem}}
            prev_hash, expected_id, last_id = entry.hash, entry.id + 1, entry.id
    return {"intact": True, "checked": checked, "first_bad": None}

"""The history chain: one linker puts every appended entry in one order, and heads are signed.

- Appends (`intake.history`) only insert rows. The linker takes the unlinked rows in insertion
  order, gives each the next `chain_seq`, and commits to it with
  `hash = SHA-256(position, previous hash, the entry's fields, actor pseudonym, personal digest)`.
  On PostgreSQL a transaction-level advisory lock, taken only by linkers, makes one linker at a
  time do this across processes; SQLite's write lock already does.
- Personal fields (actor, note, and the personal keys of details) are committed through
  `personal_digest = SHA-256(salt, those fields)` with a random salt per entry; retention erases
  the fields and the salt, and the chain still verifies, without the digest being matchable
  against guessed values. The actor's keyed pseudonym (`actor_ref`) is committed in the clear so
  an erased entry can still show who acted, pseudonymously.
- A signed head states "position N has hash H" at a time, with the Ed25519 key of
  AUDIT_SIGNING_KEY; heads are kept, so cutting entries off the end, or rewriting the chain and
  recomputing its hashes, no longer matches them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets

import peewee

from invite_common.db import utcnow

from intake.audit.keys import Signer
from intake.db import database
from intake.models import ChainHead, HistoryEntry

GENESIS = "0" * 64
# an arbitrary constant naming the lock only linkers take on PostgreSQL
LINKER_LOCK = 7_241_018
# keys of an entry's details that hold personal data (the TechPass username is made from a name)
PERSONAL_DETAIL_KEYS = frozenset({"username", "email", "to", "name", "first_name", "last_name", "contact_number"})
HEAD_PREFIX = b"invite-users history head v1\n"

# the columns the linker and the verifier read, in the order of `LinkRow`
LINK_COLUMNS = (
    HistoryEntry.id, HistoryEntry.request_id, HistoryEntry.event, HistoryEntry.from_state, HistoryEntry.to_state,
    HistoryEntry.actor, HistoryEntry.note, HistoryEntry.details, HistoryEntry.at, HistoryEntry.source_seq,
    HistoryEntry.message_id,
)


# one encoder for every digest: building one per call costs as much as the encoding
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_json = _ENCODER.encode


_PERSONAL_MARKERS = tuple(f'"{key}"' for key in sorted(PERSONAL_DETAIL_KEYS))


def split_details(details_text: str) -> tuple[str, dict]:
    """Split an entry's stored details into (public part as JSON text, personal part).

    Details are stored as `json.dumps(..., sort_keys=True)`; without a personal key the stored
    text is the public part as it is (no parsing: the verifier reads a million of these)."""
    details_text = details_text or "{}"
    if not any(marker in details_text for marker in _PERSONAL_MARKERS):
        return details_text, {}
    details = json.loads(details_text)
    public = {k: v for k, v in details.items() if k not in PERSONAL_DETAIL_KEYS}
    personal = {k: v for k, v in details.items() if k in PERSONAL_DETAIL_KEYS}
    if not personal:
        return details_text, {}
    return json.dumps(public, sort_keys=True), personal


def personal_digest(salt: str, actor: str, note: str, personal_details: dict) -> str:
    """The salted digest the chain commits to instead of the personal fields themselves."""
    body = _json([actor, note or "", personal_details])
    return hashlib.sha256(bytes.fromhex(salt) + body.encode()).hexdigest()


def utc_iso(at) -> str:
    """A stored time as UTC ISO 8601 with microseconds, from a datetime (naive = UTC) or SQLite's text."""
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    if at.tzinfo is not None:
        at = at.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds") + "+00:00"


def entry_hash(chain_seq: int, prev_hash: str, entry_id: int, request_id: str, event: str, from_state, to_state,
               at, source_seq, message_id, public_details: str, actor_ref: str, digest: str) -> str:
    """The hash that links an entry: its position, the previous hash and everything it records."""
    body = _json([chain_seq, prev_hash, entry_id, request_id, event, from_state, to_state, utc_iso(at), source_seq,
                  message_id, public_details, actor_ref, digest])
    return hashlib.sha256(body.encode()).hexdigest()


def pseudonym(key: bytes, actor: str) -> str:
    """A stable pseudonym for an actor that only the key's holder can link back to an email."""
    if actor in ("system", "notifier"):
        return actor  # the services themselves are not people
    return "person-" + hmac.new(key, actor.encode(), hashlib.sha256).hexdigest()[:16]


def _last_linked() -> tuple[int, str]:
    last = (HistoryEntry.select(HistoryEntry.chain_seq, HistoryEntry.hash)
            .where(HistoryEntry.chain_seq.is_null(False))
            .order_by(HistoryEntry.chain_seq.desc()).first())
    return (last.chain_seq, last.hash) if last else (0, GENESIS)


def _take_linker_lock() -> bool:
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        cursor = database.execute_sql("SELECT pg_try_advisory_xact_lock(%s)", (LINKER_LOCK,))
        return bool(cursor.fetchone()[0])
    return True


def link_pending(signer: Signer, limit: int = 1000) -> int:
    """Chain up to `limit` unlinked entries, oldest appended first; return how many were linked."""
    unlinked = HistoryEntry.select(HistoryEntry.id).where(HistoryEntry.chain_seq.is_null())
    if not unlinked.exists():
        return 0  # a read only: no write lock or transaction while there is nothing to link
    key = signer.pseudonym_key()
    with database.atomic():
        if not _take_linker_lock():
            return 0  # another process's linker is at it
        query = (HistoryEntry.select(*LINK_COLUMNS).where(HistoryEntry.chain_seq.is_null())
                 .order_by(HistoryEntry.id).limit(limit))
        rows = raw_rows(query)
        if not rows:
            return 0
        seq, prev = _last_linked()
        linked = []
        for entry_id, request_id, event, from_state, to_state, actor, note, details, at, source_seq, message_id in rows:
            seq += 1
            public, personal = split_details(details)
            salt = secrets.token_hex(16)
            digest = personal_digest(salt, actor, note, personal)
            ref = pseudonym(key, actor)
            hash_ = entry_hash(seq, prev, entry_id, request_id, event, from_state, to_state, at, source_seq,
                               message_id, public, ref, digest)
            linked.append((entry_id, seq, salt, digest, ref, prev, hash_))
            prev = hash_
        _store_links(linked)
    return len(linked)


def raw_rows(query: peewee.Select) -> list[tuple]:
    """Run a query and return the driver's rows as they are (times unconverted): fast for big walks."""
    sql, params = query.sql()
    return database.execute_sql(sql, params).fetchall()


def _store_links(linked: list[tuple]) -> None:
    """Write the chain columns of many entries in one statement per page."""
    cursor = database.cursor()
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        from psycopg2.extras import execute_values

        execute_values(cursor, "UPDATE history_entry AS h SET chain_seq = v.seq, salt = v.salt, "
                               "personal_digest = v.digest, actor_ref = v.ref, prev_hash = v.prev, hash = v.hash "
                               "FROM (VALUES %s) AS v (id, seq, salt, digest, ref, prev, hash) WHERE h.id = v.id",
                       linked, page_size=1000)
    else:
        cursor.executemany("UPDATE history_entry SET chain_seq = ?, salt = ?, personal_digest = ?, actor_ref = ?, "
                           "prev_hash = ?, hash = ? WHERE id = ?", [row[1:] + row[:1] for row in linked])


def head_message(seq: int, hash_: str, signed_at: dt.datetime) -> bytes:
    """The exact bytes a head's signature covers."""
    return HEAD_PREFIX + f"{seq}\n{hash_}\n{utc_iso(signed_at)}\n".encode()


def sign_head(signer: Signer, now: dt.datetime | None = None) -> ChainHead | None:
    """Sign the chain's current last entry if no head covers it yet; return the new head."""
    seq, hash_ = _last_linked()
    if seq == 0:
        return None
    newest = ChainHead.select(ChainHead.seq).order_by(ChainHead.seq.desc()).first()
    if newest is not None and newest.seq >= seq:
        return None
    signed_at = now or utcnow()
    head = ChainHead(seq=seq, hash=hash_, signed_at=signed_at, key_id=signer.key_id,
                     signature=signer.sign(head_message(seq, hash_, signed_at)))
    # two processes may sign the same head at once; either signature will do
    inserted = ChainHead.insert(seq=head.seq, hash=head.hash, signed_at=head.signed_at, key_id=head.key_id,
                                signature=head.signature).on_conflict_ignore().execute()
    return head if inserted else None


Cursor = tuple[dt.datetime, int]


def newest_first_page(query: peewee.ModelSelect, dump, *, after: Cursor | None, limit: int) -> tuple[list[dict], Cursor | None]:
    """One page of the history entries `query` selects newest first (role changes, stand-ins), each through `dump`,
    and the cursor to continue after: the last entry's (at, id), None on the last page."""
    if after is not None:
        key = peewee.Tuple(HistoryEntry.at, HistoryEntry.id)
        query = query.where(key < peewee.Tuple(HistoryEntry.at.db_value(after[0]), after[1]))
    rows = list(query.limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return [dump(r) for r in rows], ((rows[-1].at, rows[-1].id) if more and rows else None)

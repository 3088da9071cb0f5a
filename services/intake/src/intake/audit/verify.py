"""Check the whole history chain and its signed heads; name the first entry that fails and why.

The walk follows the chain's positions and stops at the first problem, in this order for each
entry: a gap before it (an entry removed), a previous hash that is not the one before it (moved
or inserted), content that does not match its hash (changed), personal fields that do not match
their salted digest (changed) or were blanked without a recorded erasure, a signed head at its
position that names another hash (the chain was rewritten and its hashes recomputed) or whose
signature does not verify. After the walk, a signed head beyond the last entry means entries
were cut off the end. Entries not linked yet are counted, not judged: the linker chains them
within a second or so.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from intake.audit import chain
from intake.audit.keys import signature_valid
from intake.models import ChainHead, HistoryEntry

ERASURE_EVENT = "personal_data_erased"

_VERIFY_COLUMNS = chain.LINK_COLUMNS + (
    HistoryEntry.chain_seq, HistoryEntry.salt, HistoryEntry.personal_digest, HistoryEntry.actor_ref,
    HistoryEntry.prev_hash, HistoryEntry.hash,
)


@dataclass
class Verification:
    """What a verification found; `first_bad` names the first failing entry (or position)."""

    intact: bool = True
    checked: int = 0
    first_bad: dict | None = None
    reason: str | None = None
    last_signed_head: dict | None = None
    unlinked: int = 0
    unsigned: int = 0
    heads_checked: int = 0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("extra")
        return data


def _head_dict(head: ChainHead) -> dict:
    return {"position": head.seq, "hash": head.hash, "signed_at": head.signed_at.isoformat(), "key_id": head.key_id}


def _entry_dict(row: tuple, problem: str) -> dict:
    (entry_id, request_id, event, _from, _to, actor, _note, _details, at, *_rest) = row
    return {"position": row[11], "id": entry_id, "request_id": request_id, "event": event,
            "actor": actor, "at": chain.utc_iso(at), "problem": problem}


def _head_problem(head: ChainHead, keys: dict[str, Ed25519PublicKey]) -> str | None:
    public = keys.get(head.key_id)
    message = chain.head_message(head.seq, head.hash, head.signed_at)
    if public is None or not signature_valid(public, head.signature, message):
        return (f"the head signed at {head.signed_at.isoformat()} over this position has a signature that does not "
                f"verify with the configured public key")
    return None


def _entry_problem(row: tuple, expected: int, prev: str, erased: set[str]) -> str | None:
    (entry_id, request_id, event, from_state, to_state, actor, note, details, at, source_seq, message_id,
     seq, salt, digest, actor_ref, prev_hash, hash_) = row
    if seq != expected:
        missing = f"position {expected}" if seq == expected + 1 else f"positions {expected} to {seq - 1}"
        return f"the entry at {missing} before it is missing (removed)"
    if prev_hash != prev:
        return "it does not follow the entry before it (moved or inserted)"
    public, personal = chain.split_details(details)
    if chain.entry_hash(seq, prev, entry_id, request_id, event, from_state, to_state, at, source_seq,
                        message_id, public, actor_ref, digest) != hash_:
        return "its recorded content does not match its hash (changed)"
    if salt is not None:
        if chain.personal_digest(salt, actor, note, personal) != digest:
            return "its actor, note or personal details do not match their digest (changed)"
    elif request_id not in erased:
        return "its personal fields were erased but no erasure of this request is recorded"
    elif actor != actor_ref or note or personal:
        return "it was erased, yet carries personal values that the chain does not commit to"
    return None


def verify(keys: dict[str, Ed25519PublicKey], batch: int = 20000) -> Verification:
    """Walk the whole chain in order; report whether it is intact and the first bad entry."""
    result = Verification()
    heads = list(ChainHead.select().order_by(ChainHead.seq))
    heads_at = {h.seq: h for h in heads}
    if heads:
        result.last_signed_head = _head_dict(heads[-1])
    erased = {r for (r,) in HistoryEntry.select(HistoryEntry.request_id)
              .where(HistoryEntry.event == ERASURE_EVENT).tuples()}
    result.unlinked = HistoryEntry.select().where(HistoryEntry.chain_seq.is_null()).count()
    expected, prev, last_seq = 1, chain.GENESIS, 0

    def fail(first_bad: dict) -> Verification:
        result.intact, result.first_bad, result.reason = False, first_bad, first_bad["problem"]
        return result

    while True:
        rows = chain.raw_rows(HistoryEntry.select(*_VERIFY_COLUMNS).where(HistoryEntry.chain_seq > last_seq)
                              .order_by(HistoryEntry.chain_seq).limit(batch))
        if not rows:
            break
        for row in rows:
            result.checked += 1
            problem = _entry_problem(row, expected, prev, erased)
            seq = row[11]
            head = heads_at.get(seq)
            if problem is None and head is not None:
                result.heads_checked += 1
                if head.hash != row[16]:
                    problem = (f"it differs from the head signed at {head.signed_at.isoformat()}: the chain was "
                               f"rewritten at or before this position")
                else:
                    problem = _head_problem(head, keys)
            if problem:
                return fail(_entry_dict(row, problem))
            prev, expected, last_seq = row[16], seq + 1, seq
    for head in heads:
        if head.seq > last_seq:
            problem = _head_problem(head, keys)
            if problem is None:
                problem = (f"entries from position {last_seq + 1} on are missing: the head signed at "
                           f"{head.signed_at.isoformat()} covers position {head.seq} (cut off the end)")
            return fail({"position": last_seq + 1, "id": None, "problem": problem})
    result.unsigned = last_seq - (heads[-1].seq if heads else 0)
    return result


def summary(result: Verification) -> str:
    """One sentence for people: intact with counts, or the first bad entry and why."""
    if result.intact:
        head = result.last_signed_head
        when = dt.datetime.fromisoformat(head["signed_at"]).isoformat(timespec="seconds") if head else "never"
        return f"intact, {result.checked} entries checked, last signed head at {when}"
    bad = result.first_bad or {}
    where = f"entry {bad['id']} at position {bad['position']}" if bad.get("id") else f"position {bad.get('position')}"
    return f"NOT intact: {where}: {result.reason}"

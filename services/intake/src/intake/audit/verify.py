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
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field

import peewee

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from intake.audit import chain
from intake.audit.keys import signature_valid
from intake.db import database
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


@dataclass
class _Walk:
    """What walking one stretch of positions found."""

    checked: int = 0
    heads_checked: int = 0
    problem: dict | None = None
    first: dict | None = None  # the stretch's first entry (for a problem found at the seam)
    first_seq: int | None = None
    first_prev: str | None = None
    last_seq: int = 0
    last_hash: str | None = None


def _walk(lo: int, hi: int | None, prev: str | None, keys, heads_at: dict, erased: set, batch: int) -> _Walk:
    """Check positions lo..hi in order; `prev` None: the stretch's first link is checked by the caller."""
    walk, expected, last_seq = _Walk(), lo, lo - 1
    while True:
        query = HistoryEntry.select(*_VERIFY_COLUMNS).where(HistoryEntry.chain_seq > last_seq)
        if hi is not None:
            query = query.where(HistoryEntry.chain_seq <= hi)
        rows = chain.raw_rows(query.order_by(HistoryEntry.chain_seq).limit(batch))
        if not rows:
            return walk
        for row in rows:
            seq = row[11]
            if walk.first_seq is None:
                walk.first_seq, walk.first_prev, walk.first = seq, row[15], _entry_dict(row, "")
                if prev is None:
                    prev = row[15]
            walk.checked += 1
            problem = _entry_problem(row, expected, prev, erased)
            head = heads_at.get(seq)
            if problem is None and head is not None:
                walk.heads_checked += 1
                if head.hash != row[16]:
                    problem = (f"it differs from the head signed at {head.signed_at.isoformat()}: the chain was "
                               f"rewritten at or before this position")
                else:
                    problem = _head_problem(head, keys)
            if problem:
                walk.problem = _entry_dict(row, problem)
                return walk
            prev, expected, last_seq = row[16], seq + 1, seq
            walk.last_seq, walk.last_hash = seq, row[16]


# What forked workers share with the verifying process (set just before they are made).
_SHARED: tuple = ()


def _walk_stretch(bounds: tuple[int, int]) -> _Walk:
    keys, heads_at, erased, batch = _SHARED
    # the first stretch starts at the genesis hash; where later ones join, verify() checks
    return _walk(bounds[0], bounds[1], chain.GENESIS if bounds[0] == 1 else None, keys, heads_at, erased, batch)


def _walk_in_parallel(last: int, workers: int, keys, heads_at, erased, batch) -> list[_Walk]:
    global _SHARED
    size = -(-last // workers)
    stretches = [(lo, min(lo + size - 1, last)) for lo in range(1, last + 1, size)]
    _SHARED = (keys, heads_at, erased, batch)
    # each worker opens its own connection: the parent's must not be shared across a fork
    database.close()
    try:
        with ProcessPoolExecutor(len(stretches), mp_context=multiprocessing.get_context("fork")) as pool:
            walks = list(pool.map(_walk_stretch, stretches))
    finally:
        _SHARED = ()
    return walks


def _seam_problem(before_seq: int, before_hash: str, walk: _Walk) -> str | None:
    """What is wrong where one stretch meets the next, as the sequential walk would say it."""
    if walk.first_seq != before_seq + 1:
        missing = (f"position {before_seq + 1}" if walk.first_seq == before_seq + 2
                   else f"positions {before_seq + 1} to {walk.first_seq - 1}")
        return f"the entry at {missing} before it is missing (removed)"
    if walk.first_prev != before_hash:
        return "it does not follow the entry before it (moved or inserted)"
    return None


PARALLEL_FROM = 200_000


def verify(keys: dict[str, Ed25519PublicKey], batch: int = 20000, workers: int | None = None,
           parallel_from: int = PARALLEL_FROM) -> Verification:
    """Walk the whole chain in order; report whether it is intact and the first bad entry.

    A long chain is walked in stretches by several processes (one per core by default); where
    the stretches meet is checked here, so the first bad entry named is the same either way."""
    result = Verification()
    heads = list(ChainHead.select().order_by(ChainHead.seq))
    heads_at = {h.seq: h for h in heads}
    if heads:
        result.last_signed_head = _head_dict(heads[-1])
    erased = {r for (r,) in HistoryEntry.select(HistoryEntry.request_id)
              .where(HistoryEntry.event == ERASURE_EVENT).tuples()}
    result.unlinked = HistoryEntry.select().where(HistoryEntry.chain_seq.is_null()).count()
    last = HistoryEntry.select(peewee.fn.MAX(HistoryEntry.chain_seq)).scalar() or 0
    workers = workers or os.cpu_count() or 1

    def fail(first_bad: dict) -> Verification:
        result.intact, result.first_bad, result.reason = False, first_bad, first_bad["problem"]
        return result

    if workers > 1 and last >= parallel_from:
        walks = _walk_in_parallel(last, workers, keys, heads_at, erased, batch)
    else:
        walks = [_walk(1, None, chain.GENESIS, keys, heads_at, erased, batch)]
    last_seq, last_hash = 0, chain.GENESIS
    for walk in walks:
        if walk.first_seq is None:
            continue  # a stretch whose entries are all gone: the next seam says so
        if walk is not walks[0]:
            seam = _seam_problem(last_seq, last_hash, walk)
            if seam:
                result.checked += 1
                return fail(walk.first | {"problem": seam})
        result.checked += walk.checked
        result.heads_checked += walk.heads_checked
        if walk.problem:
            return fail(walk.problem)
        last_seq, last_hash = walk.last_seq, walk.last_hash
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

"""A year of requests and their history entries, written with COPY and chained exactly as the linker chains them."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import time
import uuid

APPROVERS = [f"approver{i}@tech.gov.sg" for i in range(20)]
REQUESTERS = [f"officer{i}@agency{i % 40}.gov.sg" for i in range(2000)]
STATES = ("emailed", "rejected", "emailed", "emailed", "seed_requested", "cancelled")


def _csv_buffer(rows) -> io.StringIO:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["\\N" if v is None else v for v in row])
    buffer.seek(0)
    return buffer


def _copy(db, table: str, columns: list[str], rows) -> None:
    cursor = db.connection().cursor()
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", _csv_buffer(rows))


def seed(db, signer, entries: int) -> dict:
    """Write requests and their chained entries, as the linker would have chained them."""
    from intake.audit import chain

    rng = random.Random(8)
    key = signer.pseudonym_key()
    start = time.perf_counter()
    now = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    n_requests = entries // 3 + 1  # fewer are written: the loop stops at `entries`
    seq, prev, entry_id = 0, chain.GENESIS, 0
    request_cols = ["id", "method", "email", "user_type", "first_name", "last_name", "contact_number", "organisation",
                    "department", "seed_onboarding", "offshore", "reason", "requester", "state", "state_seq", "batch_id",
                    "created_at", "updated_at"]
    entry_cols = ["id", "request_id", "event", "from_state", "to_state", "actor", "note", "details", "at", "source_seq",
                  "chain_seq", "salt", "personal_digest", "actor_ref", "prev_hash", "hash"]
    head_cols = ["seq", "hash", "signed_at", "key_id", "signature"]
    requests, rows, heads = [], [], []
    batch_ids = [str(uuid.uuid4()) for _ in range(200)]
    for r in range(n_requests):
        if seq >= entries:
            break
        rid = str(uuid.uuid4())
        at = now - dt.timedelta(days=365) + dt.timedelta(seconds=r * 31536000 / n_requests)
        requester, approver = rng.choice(REQUESTERS), rng.choice(APPROVERS)
        state = STATES[r % len(STATES)]
        method = "create_account" if r % 3 else "email_invitation"
        email = f"invitee{r}.{rng.randrange(10**6)}@{'vendor' if method == 'create_account' else 'tech.gov'}{r % 97}.sg"
        batch = batch_ids[r % 200] if r % 10 == 0 else None
        requests.append([rid, method, email, "vendor" if method == "create_account" else "public_officer", "First",
                         "Last", "+6591234567", "Example Pte Ltd", "", state == "seed_requested", False,
                         "Reason for the request", requester, state, 4, batch, at.replace(tzinfo=None),
                         at.replace(tzinfo=None)])
        steps = [("submit", requester, None, "submitted", "Reason for the request", {"method": method}, None)]
        if state == "rejected":
            steps += [("reject", approver, "submitted", "rejected", "Not needed", {}, 1)]
        elif state == "cancelled":
            steps += [("cancel_requested", requester, "submitted", None, "", {}, None),
                      ("cancel", requester, "submitted", "cancelled", "", {}, 1)]
        else:
            steps += [("approve", approver, "submitted", "approved", "Welcome", {}, 1),
                      ("provision", "system", "approved", "account_created", "", {"username": f"user{r}"}, 2)]
            if state == "seed_requested":
                steps.append(("request_seed", "system", "account_created", "seed_requested", "",
                              {"seed_expires_at": (at + dt.timedelta(days=14)).isoformat()}, 3))
            else:
                steps.append(("mark_emailed", "notifier", "account_created", "emailed", "",
                              {"smtp_message_id": f"<{uuid.uuid4().hex}@invites.local>"}, 3))
        for i, (event, actor, from_state, to_state, note, details, source_seq) in enumerate(steps):
            if seq >= entries:
                break
            entry_id += 1
            seq += 1
            when = at + dt.timedelta(minutes=i * 7)
            public, personal = chain.split_details(json.dumps(details, sort_keys=True))
            salt = os.urandom(16).hex()
            digest = chain.personal_digest(salt, actor, note, personal)
            ref = chain.pseudonym(key, actor)
            hash_ = chain.entry_hash(seq, prev, entry_id, rid, event, from_state, to_state, when, source_seq, None,
                                     public, ref, digest)
            rows.append([entry_id, rid, event, from_state, to_state, actor, note, json.dumps(details, sort_keys=True),
                         when.replace(tzinfo=None).isoformat(), source_seq, seq, salt, digest, ref, prev, hash_])
            prev = hash_
            if seq % 1000 == 0:
                signed_at = when + dt.timedelta(seconds=30)
                heads.append([seq, hash_, signed_at.replace(tzinfo=None).isoformat(), signer.key_id,
                              signer.sign(chain.head_message(seq, hash_, signed_at))])
        if len(rows) >= 50_000:
            with db.atomic():
                _copy(db, "invite_request", request_cols, requests)
                _copy(db, "history_entry", entry_cols, rows)
            requests, rows = [], []
    if seq % 1000:
        heads.append([seq, prev, now.replace(tzinfo=None).isoformat(), signer.key_id,
                      signer.sign(chain.head_message(seq, prev, now))])
    with db.atomic():
        _copy(db, "invite_request", request_cols, requests)
        _copy(db, "history_entry", entry_cols, rows)
        _copy(db, "chain_head", head_cols, heads)
        db.execute_sql(f"SELECT setval(pg_get_serial_sequence('history_entry', 'id'), {entry_id})")
    db.execute_sql("ANALYZE")
    elapsed = time.perf_counter() - start
    return {"entries": seq, "requests": r + 1, "heads": len(heads), "seconds": round(elapsed, 1),
            "entries_per_s": round(seq / elapsed)}

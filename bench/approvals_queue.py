#!/usr/bin/env python
"""How fast the approvers' queue answers with 10,000 requests waiting: its first page and a filtered page.

    .venv/bin/python bench/approvals_queue.py                  # PostgreSQL (throwaway database)
    .venv/bin/python bench/approvals_queue.py --db sqlite --runs 50
    .venv/bin/python bench/approvals_queue.py --without-index  # the same without the queue's index

The intake app runs in-process under Flask's test client on a throwaway database holding 10,000
waiting requests from 200 requesters over 13 days (a third vendors, some with SEED, some from
batches) and 5,000 closed ones. Timed per run: the portal's "Requests to approve" first page and a
filtered page (method, user type, SEED, invitee email substring, age: page 2 of the matches), and
the same through GET /api/v1/approvals (first page, filtered, a page reached by cursor); the portal's
pages sorted by requester and by invitee (a batch upload of 27 is one row, grouped in SQL) and the
API sorted by requester. Prints
median and p95 of each; exits 1 when a portal page's median exceeds 100 ms.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.support.databases import throwaway_postgres  # noqa: E402
from bench.support.figures import report_times  # noqa: E402
from bench.support.intake_app import build_app  # noqa: E402

WAITING = 10_000
CLOSED = 5_000
TARGET_MS = 100.0
APPROVER = "bob@tech.gov.sg"


def fill(waiting: int, closed: int, seed: int = 7) -> None:
    """Insert the requests straight into the table, as years of use would have left them."""
    from intake.db import database
    from intake.models import InviteRequest, RoleGrant

    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    requesters = [f"officer{n}@agency{n % 12}.gov.sg" for n in range(200)]
    names = ["tan", "lim", "ng", "kumar", "wong", "lee", "goh", "chua", "raj", "abdullah"]
    rows = []
    # every tenth request comes from a batch upload of 27
    batches = [str(uuid.uuid4()) for _ in range((waiting + closed) // 270 + 1)]
    for i in range(waiting + closed):
        vendor = i % 3 == 0
        email = f"{rng.choice(names)}.{i}@" + ("vendor.example.com" if vendor else "tech.gov.sg")
        is_waiting = i < waiting
        rows.append({
            "id": str(uuid.uuid4()), "method": "create_account" if vendor or i % 4 == 0 else "email_invitation",
            "email": email, "user_type": "vendor" if vendor else "public_officer",
            "username": f"user{i}" if vendor else None, "first_name": "A", "last_name": "B",
            "contact_number": "+6591234567", "organisation": "Example", "department": "",
            "seed_onboarding": i % 5 == 0, "offshore": vendor and i % 7 == 0,
            "reason": "Joining the project team for the next phase of delivery",
            "requester": rng.choice(requesters), "state": "submitted" if is_waiting else rng.choice(["emailed", "rejected", "expired"]),
            "state_seq": 0, "invitee_key": email, "open_email": email if is_waiting else None,
            "open_username_key": f"user{i}" if vendor and is_waiting else None,
            "batch_id": batches[i // 270] if i % 10 == 0 else None,
            "created_at": now - dt.timedelta(seconds=rng.randrange(13 * 86400)), "updated_at": now,
        })
    with database.atomic():
        for start in range(0, len(rows), 1000):
            InviteRequest.insert_many(rows[start:start + 1000]).execute()
        RoleGrant.insert(email=APPROVER, role="approver").on_conflict_ignore().execute()
    if isinstance(database.obj, __import__("peewee").PostgresqlDatabase):
        database.execute_sql("ANALYZE invite_request")


def timed(client, path: str, runs: int, **kwargs) -> list[float]:
    client.get(path, **kwargs)  # warm: templates compiled, connection open
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path, **kwargs)
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return out


def measure(name: str, db_url: str, runs: int, without_index: bool) -> dict[str, float]:
    app, db = build_app(db_url)
    fill(WAITING, CLOSED)
    if without_index:
        index = next(i for i in db.get_indexes("invite_request") if i.columns == ["state", "created_at", "id"])
        db.execute_sql(f'DROP INDEX "{index.name}"')
    app.config["WTF_CSRF_ENABLED"] = False
    portal = app.test_client()
    assert portal.post("/sign-in", data={"email": APPROVER}).status_code == 302
    api = app.test_client()
    headers = {"X-Dev-User": APPROVER}
    filtered = "method=create_account&user_type=vendor&seed=no&email=tan&older_than=2"
    first_api = api.get("/api/v1/approvals?limit=25", headers=headers).get_json()
    cursor = api.get(f"/api/v1/approvals?limit=25&cursor={first_api['next_cursor']}", headers=headers).get_json()["next_cursor"]
    print(f"\n{name}: {first_api['total']:,} requests waiting for {APPROVER}")
    figures = {
        "portal first page": timed(portal, "/approvals", runs),
        "portal filtered, page 2": timed(portal, f"/approvals?{filtered}&page=2", runs),
        "portal by requester": timed(portal, "/approvals?sort=requester", runs),
        "portal by invitee, page 3": timed(portal, "/approvals?sort=invitee&page=3", runs),
        "API first page (25)": timed(api, "/api/v1/approvals?limit=25", runs, headers=headers),
        "API filtered (25)": timed(api, "/api/v1/approvals?limit=25&method=create_account&user_type=vendor&seed=false&email=tan&older_than_days=2", runs, headers=headers),
        "API page by cursor (25)": timed(api, f"/api/v1/approvals?limit=25&cursor={cursor}", runs, headers=headers),
        "API by requester (25)": timed(api, "/api/v1/approvals?limit=25&sort=requester", runs, headers=headers),
    }
    for label, seconds in figures.items():
        report_times(f"  {label:<26}", seconds)
    db.close()
    return {label: statistics.median(s) * 1000 for label, s in figures.items() if label.startswith("portal")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page (default 30)")
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--without-index", action="store_true", help="drop the queue's index first, to compare")
    args = parser.parse_args(argv)
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            medians = measure("SQLite", f"sqlite:///{Path(tmp) / 'intake.db'}", args.runs, args.without_index)
    else:
        with throwaway_postgres() as url:
            if not url:
                print("PostgreSQL: skipped (no BENCH_DATABASE_URL / TEST_DATABASE_URL and nothing on 127.0.0.1:5432)")
                return 0
            medians = measure("PostgreSQL", url, args.runs, args.without_index)
    missed = False
    for label, median in medians.items():
        verdict = "ok" if median <= TARGET_MS else "MISSED"
        print(f"{verdict}: {label} median {median:.1f} ms, target {TARGET_MS:.0f} ms")
        missed |= median > TARGET_MS
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

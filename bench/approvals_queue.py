#!/usr/bin/env python
"""How fast the approvers' queue answers with 10,000 requests waiting: its first page and a filtered page.

    .venv/bin/python bench/approvals_queue.py                  # PostgreSQL (throwaway database)
    .venv/bin/python bench/approvals_queue.py --db sqlite --runs 50
    .venv/bin/python bench/approvals_queue.py --without-index  # the same without the queue's index
    .venv/bin/python bench/approvals_queue.py --scenario levels --level-runs 200   # only the two-level queue

The intake app runs in-process under Flask's test client on a throwaway database holding 10,000
waiting requests from 200 requesters over 13 days (a third vendors, some with SEED, some from
batches) and 5,000 closed ones. Timed per run: the portal's "Requests to approve" first page and a
filtered page (method, user type, SEED, invitee email substring, age: page 2 of the matches), and
the same through GET /api/v1/approvals (first page, filtered, a page reached by cursor); the portal's
pages sorted by requester and by invitee (a batch upload of 27 is one row, grouped in SQL) and the
API sorted by requester. Prints
median and p95 of each; exits 1 when a portal page's median exceeds 100 ms.

Then, under the README's example approval policy (levels `agency`, same-agency, and `security`), a fresh
database holds 10,000 requests waiting across the two levels (half in their requester's agency level, half at
security, with the agency level's decider recorded) from 200 requesters of 4 agencies, a fifth from batch
uploads (at both levels). Timed `--level-runs` times each (200): GET /api/v1/approvals?limit=50 as an agency approver and as a
security approver, and the portal's grouped "Requests to approve" as each; prints p50 and p95 and exits 1 when
any p95 reaches 100 ms.
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
from tests.support.policies import LEVELS, OFFSHORE_VENDORS  # noqa: E402

WAITING = 10_000
CLOSED = 5_000
TARGET_MS = 100.0
APPROVER = "bob@tech.gov.sg"
SECURITY_APPROVER = "sam@tech.gov.sg"
LEVEL_RUNS = 200
LEVEL_TARGET_P95_MS = 100.0
# the README's example policy's levels and its first rule: every request passes its agency's approvers,
# offshore vendors security too
EXAMPLE_POLICY = LEVELS + OFFSHORE_VENDORS
AGENCIES = ("tech.gov.sg", "health.gov.sg", "mom.gov.sg", "mof.gov.sg")


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
        # without a policy every waiting request is in the one level, `approval`, that any approver decides
        rows[-1] |= {"level": "approval", "level_role": "approver", "level_since": rows[-1]["created_at"]} \
            if is_waiting else {}
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


def fill_levels(waiting: int, closed: int, seed: int = 11) -> None:
    """Requests waiting at two levels as the example policy leaves them: officers' at their agency's level,
    offshore vendors' at security once an approver of their agency approved the first."""
    from intake.db import database
    from intake.models import InviteRequest, RoleGrant

    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    requesters = [f"officer{n}@{AGENCIES[n % len(AGENCIES)]}" for n in range(200)]
    batches = [str(uuid.uuid4()) for _ in range((waiting + closed) // 270 + 1)]
    rows = []
    for i in range(waiting + closed):
        security = i % 2 == 1  # half wait at security: offshore vendors past their agency's level
        email = f"p{i}@" + ("vendor.example.com" if security else "tech.gov.sg")
        requester = rng.choice(requesters)
        is_waiting = i < waiting
        created = now - dt.timedelta(seconds=rng.randrange(13 * 86400))
        agency_decider = f"approver{i % 7}@{requester.rpartition('@')[2]}"
        rows.append({
            "id": str(uuid.uuid4()), "method": "create_account" if security else "email_invitation",
            "email": email, "user_type": "vendor" if security else "public_officer",
            "username": f"user{i}" if security else None, "first_name": "A", "last_name": "B",
            "contact_number": "+6591234567", "organisation": "Example", "department": "",
            "seed_onboarding": security, "offshore": security,
            "reason": "Joining the project team for the next phase of delivery",
            "requester": requester,
            "state": "submitted" if is_waiting else rng.choice(["emailed", "rejected", "expired"]),
            "state_seq": 1 if security else 0, "invitee_key": email, "open_email": email if is_waiting else None,
            "open_username_key": f"user{i}" if security and is_waiting else None,
            "batch_id": batches[i // 270] if i % 5 == 0 else None,
            "level": ("security" if security else "agency") if is_waiting else None,
            "level_role": ("security_approver" if security else "approver") if is_waiting else None,
            "level_agency": None if security or not is_waiting else requester.rpartition("@")[2],
            "level_since": created if is_waiting else None,
            "deciders": f"|{agency_decider}|" if security else "",
            "created_at": created, "updated_at": now,
        })
    with database.atomic():
        for start in range(0, len(rows), 1000):
            InviteRequest.insert_many(rows[start:start + 1000]).execute()
        RoleGrant.insert_many([{"email": APPROVER, "role": "approver"},
                               {"email": SECURITY_APPROVER, "role": "security_approver"}]).on_conflict_ignore().execute()
    if isinstance(database.obj, __import__("peewee").PostgresqlDatabase):
        database.execute_sql("ANALYZE invite_request")


def measure_levels(name: str, db_url: str, runs: int) -> dict[str, list[float]]:
    """The two-level queue's first pages, as an agency approver and as a security approver."""
    import intake.auth.roles
    from invite_common import approval_policy

    app, db = build_app(db_url)
    app.config["APPROVAL_POLICY"] = approval_policy.parse(EXAMPLE_POLICY, suffix=".toml",
                                                          roles=intake.auth.roles.DECIDING)
    fill_levels(WAITING, CLOSED)
    app.config["WTF_CSRF_ENABLED"] = False
    figures = {}
    print(f"\n{name}, two levels: {WAITING:,} requests waiting (half at agency, half at security)")
    for who, label in ((APPROVER, "agency approver"), (SECURITY_APPROVER, "security approver")):
        api = app.test_client()
        headers = {"X-Dev-User": who}
        total = api.get("/api/v1/approvals?limit=50", headers=headers).get_json()["total"]
        portal = app.test_client()
        assert portal.post("/sign-in", data={"email": who}).status_code == 302
        print(f"  {who} ({label}): {total:,} requests in their queue")
        figures[f"API first page (50), {label}"] = timed(api, "/api/v1/approvals?limit=50", runs, headers=headers)
        figures[f"portal first page, {label}"] = timed(portal, "/approvals", runs)
    for label, seconds in figures.items():
        report_times(f"  {label:<38}", seconds)
    db.close()
    return figures


def level_verdicts(figures: dict[str, list[float]]) -> bool:
    """Print each page's p50/p95 against the target; whether any missed it."""
    from bench.support.figures import rounded_rank

    missed = False
    for label, seconds in figures.items():
        p50, p95 = statistics.median(seconds) * 1000, rounded_rank(seconds, 95) * 1000
        verdict = "ok" if p95 < LEVEL_TARGET_P95_MS else "MISSED"
        print(f"{verdict}: {label} p50 {p50:.1f} ms, p95 {p95:.1f} ms, target p95 < {LEVEL_TARGET_P95_MS:.0f} ms")
        missed |= p95 >= LEVEL_TARGET_P95_MS
    return missed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page (default 30)")
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--without-index", action="store_true", help="drop the queue's index first, to compare")
    parser.add_argument("--scenario", choices=["both", "plain", "levels"], default="both",
                        help="the one-level queue, the two-level queue, or both (default)")
    parser.add_argument("--level-runs", type=int, default=LEVEL_RUNS, help="timed requests per two-level page (200)")
    args = parser.parse_args(argv)
    medians, level_figures = {}, {}
    if args.db == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            if args.scenario != "levels":
                medians = measure("SQLite", f"sqlite:///{Path(tmp) / 'intake.db'}", args.runs, args.without_index)
        if args.scenario != "plain":
            with tempfile.TemporaryDirectory() as tmp:
                level_figures = measure_levels("SQLite", f"sqlite:///{Path(tmp) / 'levels.db'}", args.level_runs)
    else:
        if args.scenario != "levels":
            with throwaway_postgres() as url:
                if not url:
                    print("PostgreSQL: skipped (no BENCH_DATABASE_URL / TEST_DATABASE_URL and nothing on 127.0.0.1:5432)")
                    return 0
                medians = measure("PostgreSQL", url, args.runs, args.without_index)
        if args.scenario != "plain":
            with throwaway_postgres() as url:
                if not url:
                    print("PostgreSQL: skipped (no BENCH_DATABASE_URL / TEST_DATABASE_URL and nothing on 127.0.0.1:5432)")
                    return 0
                level_figures = measure_levels("PostgreSQL", url, args.level_runs)
    missed = level_verdicts(level_figures)
    for label, median in medians.items():
        verdict = "ok" if median <= TARGET_MS else "MISSED"
        print(f"{verdict}: {label} median {median:.1f} ms, target {TARGET_MS:.0f} ms")
        missed |= median > TARGET_MS
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Audit benchmark: one million history entries in PostgreSQL, read the way auditors read them.

    .venv/bin/python bench/audit.py                    # 1,000,000 entries (about 167,000 requests)
    .venv/bin/python bench/audit.py --entries 100000   # a quicker run
    .venv/bin/python bench/audit.py --json out.json

Phases, each against a throwaway PostgreSQL database that is dropped at the end:

| phase | what runs | figure (target) |
| --- | --- | --- |
| seed | requests and their entries (three to five each: submit, the decision, account and email or SEED booking; rejections and cancellations fewer), chained exactly as the linker chains them, with a signed head every 1,000 entries; written with COPY | entries/s (no target) |
| link | 20,000 more entries appended unchained, then chained by `link_pending` as the running linker does | entries/s (no target) |
| page | `GET /api/v1/audit/events` through the app (Flask test client: routing, validation, query, JSON) with twelve kinds of filter, 25 times each | p50/p95/p99 ms (p95 < 100 ms) |
| export | `GET /api/v1/audit/export.csv` of every entry, in a process of its own, reading the stream as a client would | rows/s (≥ 50,000), peak RSS and RSS every 100,000 rows (steady) |
| verify | `verify()` of the whole chain and its heads, in a process of its own | seconds (< 20 s) |

It needs PostgreSQL on 127.0.0.1:5432 (or TEST_DATABASE_URL), found like the tests find it.
The machine is shared: other work running at the same time shows in the figures.
"""
from __future__ import annotations

import argparse

from intake import settings as intake_settings
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.support.figures import rounded_rank  # noqa: E402
from bench.support.history_seed import APPROVERS, seed  # noqa: E402
from bench.support.intake_app import open_database  # noqa: E402

TARGETS = {"page_p95_ms": 100.0, "export_rows_per_s": 50_000.0, "verify_s": 20.0}


def _rss_kb(field: str = "VmRSS") -> int:
    """This process's resident memory (VmRSS) or its peak (VmHWM), in kB.

    Not getrusage's ru_maxrss: Linux carries that across exec from the parent, which seeded."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(children: bool = False) -> float:
    """CPU time (user + system) of this process, and of its finished workers if asked."""
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    total = used.ru_utime + used.ru_stime
    if children:
        done = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += done.ru_utime + done.ru_stime
    return total


def _settings(db_url: str, var_dir: str):

    return intake_settings.load({"INTAKE_DB_URL": db_url, "INVITES_VAR_DIR": var_dir, "ENV": "test",
                        "ROLE_GRANTS": "auditor:auditor@tech.gov.sg"})


def link(db, signer, n: int = 20_000) -> dict:
    """Append `n` entries unchained, then chain them with the linker's own code."""
    from intake import history
    from intake.audit import chain

    now = dt.datetime.now(dt.timezone.utc)
    ids = [r for (r,) in db.execute_sql("SELECT id FROM invite_request ORDER BY random() LIMIT %s", (n,)).fetchall()]
    with db.atomic():
        history.append_many([{"request_id": ids[i % len(ids)], "event": "resend_requested",
                              "actor": "officer1@agency1.gov.sg", "at": now} for i in range(n)])
    start = time.perf_counter()
    linked = 0
    while True:
        done = chain.link_pending(signer)
        if not done:
            break
        linked += done
    elapsed = time.perf_counter() - start
    chain.sign_head(signer)
    return {"linked": linked, "seconds": round(elapsed, 2), "entries_per_s": round(linked / elapsed)}


def pages(db_url: str, var_dir: str, rounds: int = 25) -> dict:
    """Time filtered pages of /api/v1/audit/events through the app."""
    from invite_common.outbox import Outbox
    from invite_common.topology import Topology
    from intake.app import create_app
    from intake.db import database
    from intake.auth.roles import apply_role_grants

    settings = _settings(db_url, var_dir)
    with database.atomic():
        apply_role_grants(settings.role_grants)
    client = create_app(settings, Outbox(database, Topology())).test_client()
    some = database.execute_sql("SELECT id, email, requester, batch_id FROM invite_request ORDER BY random() LIMIT 50").fetchall()
    rng = random.Random(3)
    filters = {
        "no filter": lambda: "",
        "state": lambda: "state=rejected",
        "method": lambda: "method=email_invitation",
        "state + method": lambda: "state=seed_requested&method=create_account",
        "invitee email part": lambda: "email=" + rng.choice(some)[1].split("@")[0][-8:],
        "requester": lambda: "requester=" + rng.choice(some)[2],
        "approver": lambda: "approver=" + rng.choice(APPROVERS),
        "batch": lambda: "batch=" + next((s[3] for s in some if s[3]), ""),
        "request id": lambda: "request_id=" + rng.choice(some)[0],
        "a week": lambda: "from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z",
        "approver + a month": lambda: f"approver={rng.choice(APPROVERS)}&from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z",
        "oldest first, page 2": lambda: "state=emailed&order=oldest",
    }
    headers = {"X-Dev-User": "auditor@tech.gov.sg"}
    results, every = {}, []
    for name, make in filters.items():
        times = []
        for _ in range(rounds):
            query = make()
            start = time.perf_counter()
            response = client.get(f"/api/v1/audit/events?limit=50&{query}", headers=headers)
            body = response.get_json()
            if name.endswith("page 2") and body.get("next_cursor"):
                response = client.get(f"/api/v1/audit/events?limit=50&{query}&cursor={body['next_cursor']}", headers=headers)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)
        every += times
        results[name] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(rounded_rank(times, 95), 1)}
    return {"by_filter": results, "p50_ms": round(statistics.median(every), 1), "p95_ms": round(rounded_rank(every, 95), 1),
            "p99_ms": round(rounded_rank(every, 99), 1), "requests": len(every)}


def export_child(db_url: str, var_dir: str) -> dict:
    """Stream the full CSV export through the app, as a client reading it would; watch memory."""
    from invite_common.outbox import Outbox
    from invite_common.topology import Topology
    from intake.app import create_app
    from intake.db import database

    open_database(db_url)
    client = create_app(_settings(db_url, var_dir), Outbox(database, Topology())).test_client()
    rss_start = _rss_kb()
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    response = client.get("/api/v1/audit/export.csv", headers={"X-Dev-User": "auditor@tech.gov.sg"}, buffered=False)
    rows, size, samples, next_sample = -1, 0, [], 100_000
    for piece in response.response:
        text = piece.decode() if isinstance(piece, bytes) else piece
        size += len(text)
        # CRLF ends every record (a note with a line break holds only LF inside its quotes)
        rows += text.count("\r\n")
        if rows >= next_sample:
            samples.append(_rss_kb() // 1024)
            next_sample += 100_000
    elapsed = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_start
    response.close()
    peak = _rss_kb("VmHWM") // 1024
    return {"rows": rows, "mb": round(size / 1e6, 1), "seconds": round(elapsed, 1), "rows_per_s": round(rows / elapsed),
            "cpu_seconds": round(cpu, 1), "rows_per_cpu_s": round(rows / cpu),
            "rss_start_mb": rss_start // 1024, "rss_every_100k_rows_mb": samples, "peak_rss_mb": peak}


def verify_child(db_url: str, var_dir: str) -> dict:
    """Verify the whole chain and its signed heads."""
    from intake.audit import keys
    from intake.audit.verify import verify

    open_database(db_url)
    cpu_start = _cpu_seconds(children=True)
    start = time.perf_counter()
    result = verify(keys.verify_keys(_settings(db_url, var_dir)))
    elapsed = time.perf_counter() - start
    cpu = _cpu_seconds(children=True) - cpu_start
    return {"intact": result.intact, "checked": result.checked, "heads_checked": result.heads_checked,
            "reason": result.reason, "seconds": round(elapsed, 1), "cpu_seconds_all_workers": round(cpu, 1),
            "peak_rss_mb": _rss_kb("VmHWM") // 1024}


def _in_child(phase: str, db_url: str, var_dir: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", phase, "--db-url", db_url, "--var-dir", var_dir],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--reuse", metavar="URL", help="measure an already seeded database (kept afterwards); "
                        "--keep leaves the seeded one for that")
    parser.add_argument("--keep", action="store_true", help="do not drop the seeded database; print its URL")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--db-url", help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)  # the app's request log would time itself
    if args.child:
        result = {"export": export_child, "verify": verify_child}[args.child](args.db_url, args.var_dir)
        print(json.dumps(result))
        return 0

    from tests.support import backing
    from intake.audit import keys

    found = backing.find_postgres()
    if not found.url:
        print(f"skipped: no PostgreSQL ({found.why_not})")
        return 0
    db_url = args.reuse or backing.create_postgres_database(found.url)
    # the signing key lives beside a kept database, so a later --reuse run verifies with it
    var_dir = f"/tmp/bench-audit-{db_url.rsplit('/', 1)[-1]}"
    Path(var_dir).mkdir(exist_ok=True)
    figures = {"machine": f"{os.cpu_count()} cores, shared with other work while this ran"}
    try:
        db = open_database(db_url)
        signer = keys.load_signer(_settings(db_url, var_dir))
        if not args.reuse:
            print(f"seeding {args.entries:,} entries ...", flush=True)
            figures["seed"] = seed(db, signer, args.entries)
            print("seed", figures["seed"], flush=True)
            figures["link"] = link(db, signer)
            print("link", figures["link"], flush=True)
        figures["page"] = pages(db_url, var_dir)
        print("page", json.dumps(figures["page"], indent=1), flush=True)
        db.close()
        figures["export"] = _in_child("export", db_url, var_dir)
        print("export", figures["export"], flush=True)
        figures["verify"] = _in_child("verify", db_url, var_dir)
        print("verify", figures["verify"], flush=True)
    finally:
        from intake.db import database

        if not database.is_closed():
            database.close()
        if args.keep or args.reuse:
            print(f"kept: --reuse {db_url}")
        else:
            backing.drop_postgres_database(found.url, db_url)
    met = {
        "page p95 < 100 ms": figures["page"]["p95_ms"] < TARGETS["page_p95_ms"],
        "CSV export >= 50,000 rows/s": figures["export"]["rows_per_s"] >= TARGETS["export_rows_per_s"],
        "verify < 20 s": figures["verify"]["seconds"] < TARGETS["verify_s"] and figures["verify"]["intact"],
    }
    figures["targets"] = met
    for name, ok in met.items():
        print(f"{'met   ' if ok else 'MISSED'} {name}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

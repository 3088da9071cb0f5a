#!/usr/bin/env python
"""Throughput, latency and CPU per invite of Invite Users against a minimal durable pipeline, on SQLite and PostgreSQL.

    .venv/bin/python bench/pipeline.py                         # both databases: 1,000 invites, paced phases of 60 s
    BENCH_SECONDS=15 BENCH_N=300 .venv/bin/python bench/pipeline.py   # a quicker run
    .venv/bin/python bench/pipeline.py --db postgresql --phases throughput,latency

Phases, run on each database in turn (DESIGN.md section 7):

1. baseline   a minimal hand-written 3-hop durable pipeline on the same broker and database kind:
              publish -> consume, insert a row, republish -> consume, render a small Jinja template,
              send it over one open SMTP connection. Twice: "fair", with batched publisher confirms
              (a prefetch's worth published, then one wait; the store hop acks what it handled once
              its republishes are confirmed), and "old", with one confirm round trip per message.
2. throughput intake, approval and notifier as processes; N email invitations submitted over HTTP by
              a few client threads while an approver thread approves them in bulk (up to 100 a call);
              from the first submit to the N-th email accepted by the SMTP server.
3. latency    one invitation every 1/rate s (50/s) for `--seconds`: submit, then approve as soon as the
              201 is back; per invitation, approve 202 -> email and submit -> approve -> email.
4. scaled     the same at `--scaled-rate` (25/s) with a second process of approval and of notifier.

After each system phase the rows are counted: requests in intake, emailed requests in approval, sent
deliveries in the notifier, emails and recipients at the SMTP server must all equal the submissions.

Targets: services' CPU per invite (intake + approval + notifier, paced phase) <= 12 ms on SQLite and
18 ms on PostgreSQL; PostgreSQL's own CPU per invite at most half of what it was before the hot paths
were reworked; p99 submit -> email <= 100 ms in both paced phases; system invites/s >= 0.5 x the fair
baseline's msgs/s; nothing lost or doubled. A missed target prints MISSED and still exits 0; the exit
status is non-zero only when the run itself broke: a crash, an HTTP error, a service that exited.

The CPU rows say where the time went, in CPU ms per message or invite, read from /proc/<pid>/stat:
this script (`bench`: the HTTP clients, the SMTP server), each hop or service process, the local
RabbitMQ's beam.smp (`broker`), PostgreSQL's server processes for this run's databases (`database`),
and `rest`, everything else the machine ran meanwhile. A large `rest` means something else was using
the CPUs: latencies and rates then say more about the machine than about the system; CPU per invite
much less so.

Everything stays on loopback: the broker and PostgreSQL must be local; queues, exchanges,
databases and processes made by the run are removed at the end, also on Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import traceback
from pathlib import Path

# the repository's root, where bench.support and tests.support are found, whatever folder this runs from
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.support.baseline import BaselineResult, run_baseline  # noqa: E402
from bench.support.cpu import machine_info  # noqa: E402
from bench.support.databases import make_database  # noqa: E402
from bench.support.figures import percentile  # noqa: E402
from bench.support.load import MAX_BULK, ThroughputResult, run_throughput  # noqa: E402
from bench.support.loopback import check_loopback  # noqa: E402
from bench.support.pacing import LatencyResult, run_latency  # noqa: E402
from bench.support.phase import Cleanup, PhaseFailed, say  # noqa: E402
from bench.support.report import report  # noqa: E402
from bench.support.system import (  # noqa: E402
    LossCheck, check_nothing_lost, start_extra_workers, start_system, topology_of, wait_settled,
)
from bench.support.timed_mailbox import TimedMailbox  # noqa: E402
from tests.support import backing  # noqa: E402
from tests.support.system import SERVICES  # noqa: E402

PHASES = ("baseline", "throughput", "latency", "scaled")


def parse_args(argv=None):
    """The options, checked; `phases` and `dbs` as sets and lists."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 1000)),
                   help="messages / invitations for the throughput phases (default 1000, or BENCH_N)")
    p.add_argument("--warmup", type=float, default=2.0,
                   help="seconds at the paced rate before each paced phase is measured, reported apart (default 2)")
    p.add_argument("--trace", metavar="FILE", help="append each paced invitation's times (ms from the phase's start) to FILE as JSON lines")
    p.add_argument("--rate", type=float, default=50.0, help="invitations per second in the latency phase (default 50)")
    p.add_argument("--scaled-rate", type=float, default=25.0,
                   help="invitations per second in the phase with two processes of each worker (default 25)")
    p.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 60)),
                   help="length of each paced phase (default 60, or BENCH_SECONDS for quicker runs)")
    p.add_argument("--db", default=os.environ.get("BENCH_DB", "sqlite,postgresql"),
                   help="comma-separated databases to run on: sqlite, postgresql (default both, or BENCH_DB)")
    p.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    p.add_argument("--clients", type=int, default=4, help="submitting client threads in the throughput phase (default 4)")
    p.add_argument("--chunk", type=int, default=MAX_BULK,
                   help=f"most approvals per bulk decision call (default {MAX_BULK}, the API's limit)")
    p.add_argument("--prefetch", type=int, default=50, help="prefetch of the baseline's consumers (default 50, as AMQP_PREFETCH)")
    p.add_argument("--phase-timeout", type=float, default=0, help="seconds each phase may take (default: scaled to --n)")
    p.add_argument("--log-level", default="INFO", help="LOG_LEVEL of the services (default INFO, as deployed)")
    p.add_argument("--keep", action="store_true", help="keep the run's folder (service logs, SQLite files) and print where")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    args.phases = {x.strip() for x in args.phases.split(",") if x.strip()}
    unknown = args.phases - set(PHASES)
    if unknown:
        p.error(f"unknown phases: {', '.join(sorted(unknown))}")
    args.dbs = [x.strip() for x in args.db.split(",") if x.strip()]
    if not args.dbs or set(args.dbs) - {"sqlite", "postgresql"}:
        p.error("--db takes sqlite, postgresql or both")
    if not 1 <= args.chunk <= MAX_BULK:
        p.error(f"--chunk must be 1..{MAX_BULK}")
    if args.n < 1 or args.rate <= 0 or args.scaled_rate <= 0 or args.seconds <= 0 or args.clients < 1:
        p.error("--n, --rate, --scaled-rate, --seconds and --clients must be positive")
    return args


def _interrupt(signum, frame):
    raise KeyboardInterrupt



def run_on(args, db_kind: str, amqp_url: str, admin_url: str | None, machine: dict, mailbox, folder: Path, cleanup: Cleanup) -> tuple[dict, bool]:
    """Every phase on one kind of database; returns the summary and whether the run broke."""
    baselines: dict[str, BaselineResult] = {}
    throughput: ThroughputResult | None = None
    latencies: dict[str, LatencyResult] = {}
    losses: list[tuple[str, LossCheck]] = []
    notes: list[str] = []
    broken = False
    say(f"\n### {db_kind}: n={args.n}, paced {args.rate:g}/s and {args.scaled_rate:g}/s for {args.seconds:g} s each; nproc={machine['nproc']}")
    if "baseline" in args.phases:
        for kind, batched in (("fair", True), ("old", False)):
            what = "batched confirms" if batched else "one confirm per message"
            say(f"[baseline {kind}] {args.n} messages: publish -> store({db_kind}) + republish -> render + SMTP, {what} ...")
            db = make_database(db_kind, folder, f"baseline-{kind}", admin_url, cleanup)
            baselines[kind] = run_baseline(args, amqp_url, db, mailbox, cleanup, batched)
            say(f"[baseline {kind}] {baselines[kind].received}/{args.n} in {baselines[kind].seconds:.2f} s = {baselines[kind].rate:,.0f} msgs/s")

    if args.phases & {"throughput", "latency", "scaled"}:
        databases = [make_database(db_kind, folder, f"{db_kind}-{s}", admin_url, cleanup) for s in SERVICES]
        system = start_system(amqp_url, databases, mailbox.url, folder, db_kind, args.log_level, cleanup)
        topology = topology_of(system)
        settle = lambda: wait_settled(amqp_url, topology, timeout=max(60.0, args.n / 10))  # noqa: E731
        given: list[str] = []

        def phase(name: str, run):
            nonlocal broken
            try:
                result = run()
            except PhaseFailed as exc:
                broken = True
                notes.append(f"ERROR in the {name} phase: {exc}")
                say(f"[{name}] ERROR: {exc}")
                return None
            warmup = getattr(result, "warmup", None)
            if warmup is not None:
                given.extend(warmup.addresses[: warmup.sent])
            given.extend(result.addresses[: getattr(result, "sent", len(result.addresses))])
            losses.append((name, check_nothing_lost(databases, mailbox, given)))
            return result

        if "throughput" in args.phases:
            say(f"[throughput] {args.n} invitations: {args.clients} submitting clients, bulk approvals of up to {args.chunk} ...")
            throughput = phase("throughput", lambda: run_throughput(args, system, mailbox, databases, settle))
            if throughput:
                say(f"[throughput] {throughput.received}/{throughput.n} emails in {throughput.seconds:.2f} s = {throughput.rate:,.1f} invites/s")
        if "latency" in args.phases:
            say(f"[paced] one invitation every {1000 / args.rate:.0f} ms for {args.seconds:g} s (submit, then approve at once) ...")
            result = phase("paced", lambda: run_latency(args, system, mailbox, databases, settle, args.rate, args.seconds))
            if result:
                latencies["paced"] = result
                say(f"[paced] {result.received}/{result.sent} emails; submit->email p99 "
                    f"{percentile(result.submit_to_email, 99) if result.submit_to_email else float('nan'):.1f} ms")
        if "scaled" in args.phases:
            say(f"[paced x2] two processes of approval and of notifier; one invitation every {1000 / args.scaled_rate:.0f} ms for {args.seconds:g} s ...")
            try:
                start_extra_workers(system)
            except PhaseFailed as exc:
                broken = True
                notes.append(f"ERROR starting the second workers: {exc}")
            else:
                result = phase("paced x2", lambda: run_latency(args, system, mailbox, databases, settle, args.scaled_rate, args.seconds, "lat2"))
                if result:
                    latencies["paced_x2"] = result
                    say(f"[paced x2] {result.received}/{result.sent} emails; submit->email p99 "
                        f"{percentile(result.submit_to_email, 99) if result.submit_to_email else float('nan'):.1f} ms")
        for name, proc in system.procs.items():
            if proc.poll() is not None:
                broken = True
                notes.append(f"ERROR: {name} exited with {proc.returncode} during the run; its log:\n{system.log(name)[-2000:]}")
        system.stop()
    return report(args, db_kind, machine, baselines, throughput, latencies, losses, notes), broken


def main(argv=None) -> int:
    """Run every phase on each database asked for; 0 unless the run itself broke."""
    args = parse_args(argv)

    # SIGTERM unwinds like Ctrl-C, so the cleanup below still runs; SIGINT too when the shell
    # that started this script in the background had it ignored
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)

    machine = machine_info()
    cleanup = Cleanup()
    cleanup.push(backing.stop_containers)
    folder = Path(tempfile.mkdtemp(prefix="invites-bench-"))
    cleanup.push(lambda: say(f"run folder kept: {folder}") if args.keep else shutil.rmtree(folder, ignore_errors=True))
    summaries: list[dict] = []
    broken = False
    try:
        found = backing.find_amqp()
        if not found.url:
            raise SystemExit(f"no broker: {found.why_not}")
        amqp_url = found.url
        check_loopback(amqp_url, "RabbitMQ")
        admin_url = None
        if "postgresql" in args.dbs:
            pg = backing.find_postgres()
            if not pg.url:
                raise SystemExit(f"no PostgreSQL: {pg.why_not}")
            admin_url = pg.url
            check_loopback(admin_url, "PostgreSQL")
        say(f"Invite Users benchmark on {', '.join(args.dbs)}; nproc={machine['nproc']}, load average {machine['load_before']:.2f}")
        mailbox = TimedMailbox().start()
        cleanup.push(mailbox.stop)
        for db_kind in args.dbs:
            summary, broke = run_on(args, db_kind, amqp_url, admin_url, machine, mailbox, folder, cleanup)
            summaries.append(summary)
            broken = broken or broke
    except KeyboardInterrupt:
        say("\ninterrupted: cleaning up")
        cleanup.run()
        return 130
    except SystemExit:
        cleanup.run()
        raise
    except BaseException:
        traceback.print_exc()
        cleanup.run()
        return 1
    try:
        say("\nTargets:")
        for summary in summaries:
            for t in summary["targets"]:
                say(f"  {summary['db']:<10} {t['name']}: {t['figure']}: {'met' if t['met'] else 'MISSED'}")
        if args.json:
            args.json.write_text(json.dumps({"machine": machine, "runs": summaries}, indent=2) + "\n")
    finally:
        cleanup.run()
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

"""What a pipeline run prints for one database: the table of figures, then one line per target, met or MISSED."""
from __future__ import annotations

import os
from dataclasses import dataclass

from bench.support.figures import fmt_ms, percentile
from bench.support.phase import say
from tests.support.system import SERVICES

THROUGHPUT_TARGET = 0.5
P99_TARGET_MS = 100.0
# The services' CPU per invite (intake + approval + notifier) the system should stay within.
CPU_TARGET_MS = {"sqlite": 12.0, "postgresql": 18.0}
# PostgreSQL's own CPU per invite before the hot paths were reworked, measured by this script
# on this kind of machine (25-34 ms; the lower figure, so the target is not flattered).
DB_CPU_BEFORE_MS = 25.0


def fmt_cpu(cpu: dict[str, float] | None, count: int, unit: str) -> str:
    """The CPU row: ms per `unit` of each process, and how busy the machine was."""
    if not cpu or count <= 0:
        return "-"
    parts = [f"{k} {1000 * v / count:.1f}" for k, v in cpu.items() if k != "busy"]
    return f"CPU ms per {unit}: " + ", ".join(parts) + f" (machine {100 * cpu['busy']:.0f}% busy)"


def services_cpu_ms(cpu: dict | None, count: int) -> float | None:
    """The three services' CPU ms per invite, extra worker processes included."""
    if not cpu or count <= 0:
        return None
    return 1000 * sum(v for k, v in cpu.items() if k.split("-")[0] in SERVICES) / count


@dataclass
class Target:
    """A target of DESIGN.md section 7: its name, the figure measured, whether it was met."""

    name: str
    figure: str
    met: bool


def report(args, db_kind: str, machine: dict, baselines: dict, throughput, latencies: dict, losses: list, notes: list[str]) -> dict:
    """Print one database's table and targets; return them as the summary written by `--json`."""
    rows: list[tuple[str, str, str]] = []
    targets: list[Target] = []
    summary: dict = {"db": db_kind, "n": args.n, "seconds": args.seconds}
    for kind, baseline in baselines.items():
        what = "batched confirms (fair)" if baseline.batched else "one confirm per message (old)"
        flag = "" if baseline.complete else f"TIMEOUT ({baseline.received}/{baseline.n} emails)"
        rows.append((f"baseline 3-hop pipeline, {what}", f"{baseline.rate:,.0f} msgs/s", flag or f"{baseline.n} in {baseline.seconds:.2f} s"))
        rows.append(("  CPU", "", fmt_cpu(baseline.cpu, baseline.received, "message")))
        rows.append(("  nothing lost", f"{baseline.rows} rows, {baseline.emails} emails", "ok" if baseline.rows == baseline.emails == baseline.n else "LOST OR DOUBLED"))
        summary[f"baseline_{kind}_msgs_per_s"] = round(baseline.rate, 1)
        summary[f"baseline_{kind}_cpu_seconds"] = baseline.cpu
    if throughput:
        flag = "" if throughput.complete else f"TIMEOUT ({throughput.received}/{throughput.n} emails)"
        rows.append(("system submit -> email (saturating)", f"{throughput.rate:,.1f} invites/s", flag or f"{throughput.n} in {throughput.seconds:.2f} s"))
        rows.append(("  (all submitted / all approved after)", f"{throughput.submitted_in:.2f} s / {throughput.approved_in:.2f} s", f"{throughput.bulk_calls} bulk approve calls"))
        rows.append(("  CPU, until its queues were empty", "", fmt_cpu(throughput.cpu, throughput.received, "invite")
                     + ("" if throughput.settled else " (queues still not empty)")))
        summary |= {"system_invites_per_s": round(throughput.rate, 1), "system_cpu_seconds": throughput.cpu,
                    "system_services_cpu_ms": services_cpu_ms(throughput.cpu, throughput.received)}
        for kind, baseline in baselines.items():
            if baseline.rate > 0:
                ratio = throughput.rate / baseline.rate
                summary[f"ratio_{kind}"] = round(ratio, 3)
                label = "fair (batched confirms)" if kind == "fair" else "old (one confirm each)"
                met = ratio >= THROUGHPUT_TARGET and throughput.complete
                rows.append((f"  ratio system / {label} baseline", f"{ratio:.2f}", f"target >= {THROUGHPUT_TARGET}: {'met' if met else 'MISSED'}"))
                if kind == "fair":
                    targets.append(Target(f"throughput >= {THROUGHPUT_TARGET} x fair baseline", f"{ratio:.2f} x", met))
    for key, latency in latencies.items():
        workers = "two processes of each worker" if key == "paced_x2" else "one process each"
        rows.append((
            f"paced {latency.rate:g}/s for {latency.planned / latency.rate:g} s, {workers}", f"{latency.achieved_rate:.1f} invites/s",
            f"{latency.sent} sent, {latency.received} emailed, {latency.late_starts} started >10 ms late" + ("" if latency.complete else " TIMEOUT"),
        ))
        for label, values, name in (
            ("  approve 202 -> email, p50/p95/p99 ms", latency.approve_to_email, "approve_to_email"),
            ("  submit -> approve -> email, p50/p95/p99 ms", latency.submit_to_email, "submit_to_email"),
        ):
            met = bool(values) and percentile(values, 99) <= P99_TARGET_MS and latency.complete
            rows.append((label, fmt_ms(values), f"p99 target <= {P99_TARGET_MS:.0f} ms: {'met' if met else 'MISSED'}"))
            if values:
                summary[f"{key}_{name}"] = {f"p{p}": round(percentile(values, p), 1) for p in (50, 95, 99)} | {"target_met": met}
            if name == "submit_to_email":
                p99 = f"{percentile(values, 99):.0f} ms" if values else "-"
                targets.append(Target(f"p99 submit -> email <= {P99_TARGET_MS:.0f} ms at {latency.rate:g}/s ({workers})", p99, met))
        if latency.warmup is not None and latency.warmup.submit_to_email:
            warm = latency.warmup
            rows.append((f"  warm-up before it ({warm.planned / warm.rate:g} s, not counted), submit -> email p50/p95/p99 ms",
                         fmt_ms(warm.submit_to_email), f"{warm.received}/{warm.sent} emailed"))
            summary[f"{key}_warmup_submit_to_email"] = {f"p{p}": round(percentile(warm.submit_to_email, p), 1) for p in (50, 95, 99)}
        rows.append(("  HTTP submit 201 / approve 202, p99 ms", f"{percentile(latency.submit_http, 99) if latency.submit_http else 0:.1f} / "
                     f"{percentile(latency.approve_http, 99) if latency.approve_http else 0:.1f}", ""))
        rows.append(("  CPU, until its queues were empty", "", fmt_cpu(latency.cpu, latency.received, "invite")
                     + ("" if latency.settled else " (queues still not empty)")))
        summary[f"{key}_cpu_seconds"] = latency.cpu
        service_ms = services_cpu_ms(latency.cpu, latency.received)
        summary[f"{key}_services_cpu_ms"] = service_ms
        if key == "paced" and service_ms is not None:
            limit = CPU_TARGET_MS[db_kind]
            targets.append(Target(f"services' CPU per invite <= {limit:g} ms (paced {latency.rate:g}/s)", f"{service_ms:.1f} ms", service_ms <= limit))
            if db_kind == "postgresql" and latency.cpu and "database" in latency.cpu:
                db_ms = 1000 * latency.cpu["database"] / max(1, latency.received)
                limit = DB_CPU_BEFORE_MS / 2
                targets.append(Target(f"PostgreSQL CPU per invite <= {limit:g} ms (half of {DB_CPU_BEFORE_MS:g})", f"{db_ms:.1f} ms", db_ms <= limit))
    for phase, loss in losses:
        rows.append((f"nothing lost after {phase}", "ok" if loss.ok else "LOST OR DOUBLED", loss.describe()))
    if losses:
        targets.append(Target("nothing lost: rows = emails = submissions", "; ".join(f"{p}: {'ok' if l.ok else 'NO'}" for p, l in losses),
                              all(l.ok for _, l in losses)))
    rows.append(("database", db_kind, ""))
    rows.append(("machine", f"nproc={machine['nproc']}", f"{machine['cpu']}; Python {machine['python']}; "
                 f"load average {machine['load_before']:.2f} before, {os.getloadavg()[0]:.2f} after"))
    width = max(len(r[0]) for r in rows)
    width2 = max(len(r[1]) for r in rows)
    say("")
    say("=" * (width + width2 + 40))
    for a, b, c in rows:
        say(f"{a:<{width}}  {b:>{width2}}  {c}")
    say("-" * (width + width2 + 40))
    for t in targets:
        say(f"target {t.name}: {t.figure}: {'met' if t.met else 'MISSED'}")
    say("=" * (width + width2 + 40))
    for note in notes:
        say(note)
    summary["targets"] = [t.__dict__ for t in targets]
    summary["missed"] = [t.name for t in targets if not t.met]
    return summary

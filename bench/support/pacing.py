"""The paced phases: one invitation every 1/rate s, each submitted and then approved at once, timed to its email.

Each is measured from when it was due, so one that had to wait for a client thread counts its wait;
a warm-up at the same rate runs first and is reported apart.
"""
from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.support.databases import Database
from bench.support.load import approve, submit
from bench.support.phase import PhaseFailed
from bench.support.system import system_meter


@dataclass
class LatencyResult:
    """What one paced phase measured: per invitation, its HTTP calls and its time to the email; its CPU."""

    rate: float
    planned: int
    sent: int = 0
    received: int = 0
    complete: bool = False
    late_starts: int = 0
    approve_to_email: list[float] = field(default_factory=list)
    submit_to_email: list[float] = field(default_factory=list)
    submit_http: list[float] = field(default_factory=list)
    approve_http: list[float] = field(default_factory=list)
    achieved_rate: float = 0.0
    cpu: dict | None = None
    settled: bool = True
    addresses: list[str] = field(default_factory=list)
    warmup: "LatencyResult | None" = None  # the first --warmup seconds, not counted above


def _pace(args, base: str, mailbox, rate: float, planned: int, label: str, meter_for=None, settle=None) -> LatencyResult:
    """Submit, then approve, one invitation every 1/rate s, `planned` times; wait for their emails."""
    run = uuid.uuid4().hex[:8]
    result = LatencyResult(rate, planned)
    records: list[dict] = [{} for _ in range(planned)]
    addresses = [f"{label}-{run}-{i}@tech.gov.sg" for i in range(planned)]
    result.addresses = addresses
    errors: list[BaseException] = []

    def one(i: int, due: float) -> None:
        rec = records[i]
        rec["due"] = due
        try:
            rec["submit_sent"] = time.monotonic()
            invite_id = submit(base, addresses[i])
            rec["approve_sent"] = time.monotonic()
            approve(base, invite_id)
            rec["approved"] = time.monotonic()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    # enough threads that a slow answer delays no later request; the times are taken from when
    # each request was due, so one that had to wait for a thread still counts its wait
    workers = max(16, int(rate))
    meter = meter_for() if meter_for else None
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="paced") as pool:
        for i in range(planned):
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if errors:
                break
            pool.submit(one, i, due)
            result.sent += 1
        sent_for = time.monotonic() - start + 1 / rate  # the last one's interval counts too
    if errors:
        raise PhaseFailed(f"latency phase: {errors[0]}") from errors[0]
    result.achieved_rate = result.sent / sent_for if sent_for > 0 else 0.0
    # an overloaded system drains its backlog after the last request: give it time, within bounds
    drain = args.phase_timeout or max(60.0, result.sent / 10)
    result.complete = mailbox.wait_for(addresses[: result.sent], time.monotonic() + drain)
    if settle:
        result.settled = settle()
    if meter:
        result.cpu = meter.stop()
    arrivals = mailbox.arrivals
    for address, rec in zip(addresses[: result.sent], records):
        got = arrivals.get(address)
        if got is None or "approved" not in rec:
            continue
        result.received += 1
        result.late_starts += rec["submit_sent"] - rec["due"] > 0.010
        result.approve_to_email.append((got - rec["approved"]) * 1000)
        result.submit_to_email.append((got - rec["due"]) * 1000)
        result.submit_http.append((rec["approve_sent"] - rec["submit_sent"]) * 1000)
        result.approve_http.append((rec["approved"] - rec["approve_sent"]) * 1000)
    if args.trace:
        # one line per invitation, times in ms from the phase's start: where in the run the slow ones fall
        with open(args.trace, "a") as out:
            for address, rec in zip(addresses[: result.sent], records):
                got = arrivals.get(address)
                out.write(json.dumps({"phase": label} | {k: round((v - start) * 1000, 2) for k, v in rec.items()}
                                     | ({"email": round((got - start) * 1000, 2)} if got else {})) + "\n")
    return result


def run_latency(args, system, mailbox, databases: list[Database], settle, rate: float, seconds: float, label: str = "lat") -> LatencyResult:
    """The paced phase: `--warmup` seconds at the rate first, reported apart (a process's first
    requests open its connections and run its code for the first time), then `seconds` measured."""
    warmup = None
    if args.warmup > 0:
        warmup = _pace(args, system.base, mailbox, rate, max(1, int(rate * args.warmup)), f"{label}-warm")
        settle()  # the measured part starts with the system's queues empty
    result = _pace(args, system.base, mailbox, rate, int(rate * seconds), label, lambda: system_meter(system, databases), settle)
    result.warmup = warmup
    return result

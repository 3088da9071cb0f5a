"""The system's load: invitations submitted and approved over intake's HTTP API, and the saturating phase.

The throughput phase has a few client threads submit N email invitations while an approver thread
approves them in bulk (up to 100 a call), from the first submit to the N-th email.
"""
from __future__ import annotations

import queue
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field

import requests

from bench.support.databases import Database
from bench.support.phase import PhaseFailed
from bench.support.system import system_meter

# The system's invitations come from these in turn: one person making every request of a run
# (5,650 in a whole one) is past the default quota of 5,000 a day, and made the daily quota count
# read all of them on each submission, a cost no real requester's submissions have.
REQUESTERS = [f"requester{k:02d}@tech.gov.sg" for k in range(50)]
APPROVER = "bob@tech.gov.sg"
# The most decisions POST /api/v1/approvals/decisions takes in one call (intake's MAX_BULK_DECISIONS).
MAX_BULK = 100

_local = threading.local()


def http() -> requests.Session:
    """This thread's HTTP session: each client thread keeps its own connection alive."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def submit(base: str, address: str) -> str:
    """Submit an email invitation of `address` as one of the requesters; return its id."""
    r = http().post(
        base + "/api/v1/invites",
        json={"method": "email_invitation", "email": address, "seed_onboarding": False, "reason": "Joining the platform team"},
        headers={"X-Dev-User": REQUESTERS[zlib.crc32(address.encode()) % len(REQUESTERS)]},
        timeout=30,
    )
    if r.status_code != 201:
        raise PhaseFailed(f"submit answered {r.status_code}: {r.text[:300]}")
    return r.json()["id"]


def approve(base: str, invite_id: str) -> None:
    """Approve one request as the approver."""
    r = http().post(base + f"/api/v1/invites/{invite_id}/approve", json={"comment": "ok"}, headers={"X-Dev-User": APPROVER}, timeout=30)
    if r.status_code != 202:
        raise PhaseFailed(f"approve answered {r.status_code}: {r.text[:300]}")


def approve_many(base: str, ids: list[str]) -> None:
    """Approve the requests `ids` in one bulk decision call."""
    r = http().post(
        base + "/api/v1/approvals/decisions",
        json={"decisions": [{"id": i, "decision": "approve", "comment": "ok"} for i in ids]},
        headers={"X-Dev-User": APPROVER},
        timeout=60,
    )
    if r.status_code != 200:
        raise PhaseFailed(f"bulk decisions answered {r.status_code}: {r.text[:300]}")
    bad = [x for x in r.json()["results"] if x["status"] != 202]
    if bad:
        raise PhaseFailed(f"{len(bad)} of {len(ids)} approvals refused, e.g. {bad[0]}")


@dataclass
class ThroughputResult:
    """What the saturating phase measured: emails received, its times, its CPU."""

    n: int
    received: int
    seconds: float
    submitted_in: float
    approved_in: float
    complete: bool
    bulk_calls: int
    cpu: dict | None = None
    settled: bool = True
    addresses: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0


def run_throughput(args, system, mailbox, databases: list[Database], settle) -> ThroughputResult:
    """Submit and approve `--n` invitations as fast as the system takes them; time them to the last email."""
    n, run, base = args.n, uuid.uuid4().hex[:8], system.base
    addresses = [f"tp-{run}-{i}@tech.gov.sg" for i in range(n)]
    submitted: queue.Queue = queue.Queue()
    errors: list[BaseException] = []
    stop = threading.Event()
    marks: dict[str, float] = {}
    bulk_calls = [0]

    def submitter(part: list[str]) -> None:
        try:
            for address in part:
                if stop.is_set():
                    return
                submitted.put(submit(base, address))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            stop.set()

    def approver() -> None:
        done = 0
        try:
            while done < n and not stop.is_set():
                try:
                    chunk = [submitted.get(timeout=0.5)]
                except queue.Empty:
                    continue
                while len(chunk) < args.chunk:
                    try:
                        chunk.append(submitted.get_nowait())
                    except queue.Empty:
                        break
                approve_many(base, chunk)
                bulk_calls[0] += 1
                done += len(chunk)
            marks["approved"] = time.monotonic()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            stop.set()

    timeout = args.phase_timeout or (60 + n / 10)
    meter = system_meter(system, databases)
    start = time.monotonic()
    deadline = start + timeout
    submitters = [threading.Thread(target=submitter, args=(addresses[k :: args.clients],), daemon=True) for k in range(args.clients)]
    approver_thread = threading.Thread(target=approver, daemon=True)
    for t in [*submitters, approver_thread]:
        t.start()
    try:
        for t in submitters:
            t.join(max(0.0, deadline - time.monotonic()))
        marks["submitted"] = time.monotonic()
        complete = False
        while not stop.is_set() and time.monotonic() < deadline:
            if mailbox.wait_for(addresses, min(deadline, time.monotonic() + 1.0)):
                complete = True
                break
    finally:
        stop.set()
    approver_thread.join(5)
    if errors:
        raise PhaseFailed(f"throughput phase: {errors[0]}") from errors[0]
    arrivals = mailbox.arrived(addresses)
    end = max(arrivals) if complete else time.monotonic()
    # the CPU the invitations cost includes what follows their emails (email.sent, the history)
    settled = settle()
    cpu = meter.stop()
    return ThroughputResult(
        n, len(arrivals), end - start, marks.get("submitted", end) - start, marks.get("approved", end) - start, complete,
        bulk_calls[0], cpu, settled, addresses,
    )

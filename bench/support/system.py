"""The system the pipeline's phases load: intake, approval and notifier as processes (tests.support.system),
on a broker namespace and databases of the run's own; when its work is done, and whether anything was lost."""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from invite_common.messages import State
from invite_common.topology import CONSUMERS, Topology

from bench.support.cpu import CpuMeter, broker_pids, postgres_backends
from bench.support.databases import Database, count_rows
from bench.support.loopback import amqp_connection
from bench.support.phase import Cleanup, PhaseFailed, say
from tests.support import broker
from tests.support.system import SERVICES, RunningSystem, system_env

# requesters and one approver at full speed: lift their per-person limits and quotas
UNLIMITED = {
    "RATE_LIMIT_SUBMIT": "1000000/second", "RATE_LIMIT_DECIDE": "1000000/second",
    "OPEN_REQUESTS_PER_REQUESTER": "100000000", "REQUESTS_PER_DAY_PER_REQUESTER": "100000000",
}


def topology_of(system: RunningSystem) -> Topology:
    """The broker names the system uses: its namespace, with its retry delays."""
    delays = tuple(float(d) for d in system.env["RETRY_DELAYS"].split(","))
    return Topology(namespace=system.env["AMQP_NAMESPACE"], retry_delays=delays)


def start_system(amqp_url: str, databases: list[Database], smtp_url: str, folder: Path, db_kind: str, log_level: str,
                 cleanup: Cleanup) -> RunningSystem:
    """Start the three services on `databases` (intake's, approval's, notifier's) and a broker namespace of
    their own; `cleanup` stops them and deletes the namespace."""
    namespace = f"bench{uuid.uuid4().hex[:10]}"
    db_urls = {service: d.url for service, d in zip(SERVICES, databases)}
    var = folder / f"var-{db_kind}"
    logs = folder / f"logs-{db_kind}"
    logs.mkdir(exist_ok=True)
    say("[system] starting intake, approval and notifier ...")
    for attempt in range(3):
        # fresh ports each time: on a shared machine another program may take a free port first
        env = system_env(amqp_url=amqp_url, namespace=namespace, db_urls=db_urls, smtp_url=smtp_url, var_dir=var,
                         LOG_LEVEL=log_level, PYTHONUNBUFFERED="1", **UNLIMITED)
        system = RunningSystem(env=env, logs=logs)
        if attempt == 0:
            topology = topology_of(system)
            cleanup.push(lambda: broker.delete_namespace(amqp_url, topology))
        cleanup.push(system.stop)
        try:
            system.start()
            break
        except AssertionError as exc:
            system.stop()
            if attempt == 2:
                raise PhaseFailed(f"the system did not start: {str(exc)[-500:]}") from exc
            say("[system] a service did not start (a port taken meanwhile?); trying again")
    return system


def start_extra_workers(system: RunningSystem) -> None:
    """A second process of each worker (approval, notifier) on the same databases and queues."""
    for name in ("approval", "notifier"):
        key = system.start_replica(name, 2)
        try:
            system.wait_ready(key)
        except AssertionError as exc:
            raise PhaseFailed(str(exc).splitlines()[0]) from None


def system_meter(system: RunningSystem, databases: list[Database]) -> CpuMeter:
    """A CPU meter over this script, each service process, the broker and the run's PostgreSQL backends."""
    return CpuMeter({"bench": os.getpid()} | {name: p.pid for name, p in system.procs.items()} | broker_pids(),
                    postgres_backends(databases))


def wait_settled(amqp_url: str, topology: Topology, timeout: float = 60.0) -> bool:
    """Wait until the system's work queues stay empty for a second (what follows an email: the
    email.sent outcome and the history update, which the next phase should not compete with)."""
    names = [topology.queue(c).name for c in CONSUMERS]
    conn = amqp_connection(amqp_url)
    try:
        ch = conn.channel()
        deadline, quiet_since = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            depth = sum(ch.queue_declare(q, passive=True).message_count for q in names)
            if depth == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 1.0:
                    return True
            else:
                quiet_since = None
            time.sleep(0.1)
        return False
    finally:
        conn.release()


@dataclass
class LossCheck:
    """Rows = emails = submissions, counted over every invitation the system was given so far."""

    submitted: int
    intake_rows: int
    approval_emailed: int
    notifier_sent: int
    emails: int
    recipients: int

    @property
    def ok(self) -> bool:
        return len({self.submitted, self.intake_rows, self.approval_emailed, self.notifier_sent, self.emails, self.recipients}) == 1

    def describe(self) -> str:
        return (f"submitted {self.submitted}, intake rows {self.intake_rows}, approval emailed {self.approval_emailed}, "
                f"notifier sent {self.notifier_sent}, emails {self.emails} to {self.recipients} recipients")


def check_nothing_lost(databases: list[Database], mailbox, addresses: list[str]) -> LossCheck:
    """Count, in each service's database and at the SMTP server, what became of `addresses`."""
    intake, approval, notifier = databases
    return LossCheck(
        submitted=len(addresses),
        intake_rows=count_rows(intake, "SELECT COUNT(*) FROM invite_request"),
        approval_emailed=count_rows(approval, f"SELECT COUNT(*) FROM invite_request WHERE state = '{State.EMAILED}'"),
        notifier_sent=count_rows(notifier, "SELECT COUNT(*) FROM delivery WHERE status = 'sent'"),
        emails=mailbox.emails_to(addresses),
        recipients=len(mailbox.arrived(addresses)),
    )

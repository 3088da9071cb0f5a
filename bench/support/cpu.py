"""CPU time of processes and of the whole machine, read from Linux's /proc, and what the machine is."""
from __future__ import annotations

import os
import platform
from pathlib import Path
from urllib.parse import urlparse

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds that process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class CpuMeter:
    """CPU seconds used by named processes, and by the whole machine, between two snapshots (Linux /proc).

    `groups` name sets of processes found anew at each snapshot (PostgreSQL's backends for this run's
    databases): one that ended between the snapshots is missed, one that started is counted whole.
    """

    def __init__(self, pids: dict[str, int], groups: dict | None = None):
        self.pids = pids
        self.groups = groups or {}
        self._start = self._snapshot()

    def _snapshot(self) -> dict | None:
        try:
            out: dict = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
            for name, find in self.groups.items():
                per_pid = {}
                for pid in find():
                    try:
                        per_pid[pid] = cpu_seconds(pid)
                    except OSError:
                        pass
                out[name] = per_pid
            cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            out["_total"] = sum(cpu[:8]) / TICK  # user nice system idle iowait irq softirq steal
            out["_idle"] = (cpu[3] + cpu[4]) / TICK
            return out
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> dict[str, float] | None:
        """CPU seconds per process or group, `rest` (whatever else ran: the broker or database when
        not named, other programs on the machine), and `busy` (the machine's busy fraction)."""
        end = self._snapshot()
        if self._start is None or end is None:
            return None
        used = {}
        for k, v in end.items():
            if isinstance(v, dict):
                before = self._start.get(k, {})
                used[k] = sum(t - before.get(pid, 0.0) for pid, t in v.items())
            else:
                used[k] = v - self._start[k]
        total, idle = used.pop("_total"), used.pop("_idle")
        busy_seconds = total - idle  # /proc/stat's first line adds up every CPU's ticks
        used["rest"] = max(0.0, busy_seconds - sum(used.values()))
        used["busy"] = busy_seconds / total if total > 0 else 0.0
        return used


def broker_pids() -> dict[str, int]:
    """The local RabbitMQ's Erlang VM, so the table can tell its CPU from everything else's."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "beam.smp":
                    return {"broker": int(entry.name)}
            except OSError:
                continue
    return {}


def postgres_backends(databases: list) -> dict:
    """A finder of the PostgreSQL server processes serving `databases` (none for SQLite)."""
    names = [urlparse(d.url).path.lstrip("/").encode() for d in databases if d.kind == "postgresql"]
    if not names:
        return {}

    def find() -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmd = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if cmd.startswith(b"postgres:") and any(n in cmd for n in names):
                    pids.append(int(entry.name))
        return pids

    return {"database": find}


def machine_info() -> dict:
    """The CPUs this process may use, their model, Python's version and the load before the run."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))  # what `nproc` says: the CPUs this process may use
    except AttributeError:
        nproc = os.cpu_count()
    return {"nproc": nproc, "cpu": cpu, "python": platform.python_version(), "load_before": os.getloadavg()[0]}

"""Run a process as PID 1 of a PID namespace of its own, as a container's first process runs.

PID 1 of a namespace ignores every signal it has no handler for, even from outside (SIGKILL and
SIGSTOP aside): a service without handlers would ignore a rollout's SIGTERM. `unshare --fork`
makes the namespace and forks the process into it; signals are sent to that process itself (by
its PID as seen from here), never to `unshare`, which passes none on.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest


def unshare_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "--fork", "--pid", "--mount-proc", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class Pid1:
    """A command running as PID 1 of its own PID namespace."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, cwd: Path | None = None):
        if not unshare_available():
            pytest.skip("unshare cannot make a PID namespace here (it needs root or user namespaces)")
        self.log = log
        out = open(log, "ab")
        self.outer = subprocess.Popen(["unshare", "--fork", "--pid", "--mount-proc", "--kill-child", *args],
                                      env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        self.pid = self._child()

    def _child(self) -> int:
        deadline = time.monotonic() + 10
        children = Path(f"/proc/{self.outer.pid}/task/{self.outer.pid}/children")
        while time.monotonic() < deadline:
            try:
                found = children.read_text().split()
            except OSError:
                found = []
            if found:
                return int(found[0])
            if self.outer.poll() is not None:
                raise AssertionError(f"unshare exited with {self.outer.returncode}: {self.log.read_text()[-2000:]}")
            time.sleep(0.02)
        raise AssertionError("the process did not start in its namespace")

    def namespace_pid(self) -> int:
        """The process's PID inside its namespace (1, as for a container's first process)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
        raise AssertionError("no NSpid line")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        """The process's exit status (unshare exits with it), waiting at most `timeout` seconds."""
        return self.outer.wait(timeout)

    def stop_timed(self, timeout: float) -> tuple[int, float]:
        """Send SIGTERM and wait: the exit status and the seconds from the signal to the exit."""
        self.signal(signal.SIGTERM)
        asked = time.monotonic()
        status = self.wait(timeout)
        return status, time.monotonic() - asked

    def kill(self) -> None:
        if self.outer.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.outer.wait(10)

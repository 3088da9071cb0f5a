"""The shipped release run on this machine: the operator's files filled in as an operator fills them,
and each workload started with the environment its deployment file gives it, changed only by the
swaps a test states (hosts and ports, the files mounted into the container), each as PID 1 of a PID
namespace of its own, as a container's first process runs.
"""
from __future__ import annotations

import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tests.support.deployment import Workload, in_container
from tests.support.pid1 import Pid1

VENV_BIN = Path(sys.executable).parent
PLACEHOLDER = re.compile(r"CHANGE-ME[\w-]*")


def fill_in(example: str, blanks: dict[str, str] | None = None) -> str:
    """An example settings file (KEY=VALUE lines) as an operator fills it: every CHANGE-ME a strong
    random value of its own (hex: they go into URLs), and the keys in `blanks` given those values."""
    blanks = blanks or {}
    lines = []
    for line in example.splitlines():
        key = line.split("=", 1)[0]
        if line and not line.startswith("#") and "=" in line:
            if key in blanks:
                line = f"{key}={blanks[key]}"
            line = PLACEHOLDER.sub(lambda _: secrets.token_hex(32), line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def settings_of(text: str) -> dict[str, str]:
    """KEY=VALUE lines of a settings file (comments and blank lines aside)."""
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#") and "=" in line)


def signing_key() -> bytes:
    """An Ed25519 private key in PEM, as `openssl genpkey -algorithm ed25519` makes it."""
    return Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


@dataclass
class Swaps:
    """Shipped `host[:port]` -> local `127.0.0.1:port`, replaced wherever one stands as an address."""

    addresses: dict[str, str]

    def apply(self, value: str) -> str:
        for shipped, local in self.addresses.items():
            value = re.sub(r"(?<![\w.-])" + re.escape(shipped) + r"(?![\w.-]|:\d)", local, value)
        return value


def local_environment(workload: Workload, swaps: Swaps, home: Path) -> dict[str, str]:
    """The workload's environment with the swaps applied, its mounted paths pointing at their local
    copies, and this checkout's virtual environment where the image has its own."""
    env = {}
    for name, value in workload.env.items():
        local = in_container(value, workload.mounts) if value.startswith("/") else None
        env[name] = str(local) if local is not None else swaps.apply(value)
    env["PATH"] = f"{VENV_BIN}:/usr/bin:/bin"
    env["HOME"] = str(home)
    return env


@dataclass
class Process:
    """A workload's process, as PID 1 of its own PID namespace."""

    name: str
    argv: list[str]
    env: dict[str, str]
    workdir: Path
    logs: Path
    ready_url: str = ""
    pid1: Pid1 | None = None
    started: list[float] = field(default_factory=list)

    def start(self) -> "Process":
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{self.name}.log"
        with open(log, "ab") as out:
            out.write(f"--- start {time.strftime('%H:%M:%S')}\n".encode())
        self.pid1 = Pid1(self.argv, self.env, log, cwd=self.workdir)
        self.started.append(time.monotonic())
        return self

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait for /readyz to answer 200 (the readiness probe); return the seconds since the start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid1.outer.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.pid1.outer.returncode}:\n{self.log()[-4000:]}")
            try:
                if requests.get(self.ready_url, timeout=2).status_code == 200:
                    return time.monotonic() - self.started[-1]
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready after {timeout}s:\n{self.log()[-4000:]}")

    def terminate(self, grace: float) -> tuple[int | None, float]:
        """SIGTERM, as the orchestrator sends it; the exit status (None: still running after the
        grace period, then killed) and the seconds it took."""
        asked = time.monotonic()
        self.pid1.signal(signal.SIGTERM)
        try:
            status = self.pid1.wait(grace)
        except subprocess.TimeoutExpired:
            self.pid1.kill()
            return None, time.monotonic() - asked
        return status, time.monotonic() - asked

    def kill(self) -> None:
        if self.pid1 is not None:
            self.pid1.kill()

    def running(self) -> bool:
        return self.pid1 is not None and self.pid1.outer.poll() is None

    def log(self) -> str:
        path = self.logs / f"{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

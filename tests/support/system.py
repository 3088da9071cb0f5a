"""Run the three services as separate processes, the way `make run` does, for end-to-end tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.mailbox import free_port

SERVICES = ("intake", "approval", "notifier")


@dataclass
class RunningSystem:
    env: dict[str, str]
    logs: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    # health addresses of replicas started by start_replica, by process name
    binds: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{self.env['INTAKE_BIND']}"

    def start(self, *names: str) -> None:
        for name in names or SERVICES:
            out = open(self.logs / f"{name}.log", "ab")
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", name], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        for name in names or SERVICES:
            self.wait_ready(name)

    def start_replica(self, service: str, replica: int) -> str:
        """Start one more process of `service`, with a health port of its own; return its name."""
        name = f"{service}-{replica}"
        bind = f"127.0.0.1:{free_port()}"
        env = dict(self.env, **{f"{service.upper()}_BIND": bind})
        if service == "intake":
            env["INTAKE_METRICS_BIND"] = f"127.0.0.1:{free_port()}"
        out = open(self.logs / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen([sys.executable, "-m", service], env=env, stdout=out, stderr=subprocess.STDOUT)
        self.binds[name] = bind
        return name

    def kill(self, name: str) -> None:
        """End a process at once (SIGKILL), as a crashed machine would: no clean shutdown."""
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(10)

    def wait_ready(self, name: str, timeout: float = 30.0) -> None:
        bind = self.binds.get(name) or self.env[f"{name.upper()}_BIND"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-3000:]}")
            try:
                if requests.get(f"http://{bind}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{name} not ready after {timeout}s:\n{self.log(name)[-3000:]}")

    def stop(self, *names: str) -> None:
        # every process is asked first, then waited for: they stop side by side
        stopping = [p for p in (self.procs.pop(n, None) for n in (names or list(self.procs))) if p and p.poll() is None]
        for proc in stopping:
            proc.send_signal(signal.SIGTERM)
        for proc in stopping:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # API helpers -------------------------------------------------------------------------
    def call(self, method: str, path: str, user: str, json=None, headers=None) -> requests.Response:
        h = {"X-Dev-User": user} | (headers or {})
        return requests.request(method, self.base + path, json=json, headers=h, timeout=10)

    def invite(self, invite_id: str, user: str) -> dict:
        return self.call("GET", f"/api/v1/invites/{invite_id}", user).json()


def system_env(*, amqp_url: str, namespace: str, db_urls: dict[str, str], smtp_url: str, var_dir: Path, **extra) -> dict[str, str]:
    """The environment of one test system: its own broker namespace, databases, ports and mailbox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTAKE_", "APPROVAL_", "NOTIFIER_", "AMQP_"))}
    env.update(
        AMQP_URL=amqp_url,
        AMQP_NAMESPACE=namespace,
        RETRY_DELAYS="0.2,0.4,0.8",
        INTAKE_DB_URL=db_urls["intake"],
        APPROVAL_DB_URL=db_urls["approval"],
        NOTIFIER_DB_URL=db_urls["notifier"],
        SMTP_URL=smtp_url,
        SMTP_TIMEOUT="5",
        INTAKE_BIND=f"127.0.0.1:{free_port()}",
        INTAKE_METRICS_BIND=f"127.0.0.1:{free_port()}",
        APPROVAL_BIND=f"127.0.0.1:{free_port()}",
        NOTIFIER_BIND=f"127.0.0.1:{free_port()}",
        ORG_EMAIL_DOMAINS="gov.sg",
        ROLE_GRANTS="approver:bob@tech.gov.sg,approver:dana@tech.gov.sg,auditor:carol@tech.gov.sg",
        INVITES_VAR_DIR=str(var_dir),
        LOG_LEVEL="INFO",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env

"""Run the three services as separate processes, the way `make run` does, for end-to-end tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.ports import free_port

SERVICES = ("intake", "approval", "notifier")
# short retry delays, so a test sees a message retried and dead-lettered in seconds
RETRY_DELAYS = (0.2, 0.4, 0.8)


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

        def exited() -> str | None:
            proc = self.procs[name]
            return None if proc.poll() is None else f"{name} exited with {proc.returncode}"

        wait_for_ok(f"http://{bind}/readyz", timeout, gone=exited, log=lambda: self.log(name)[-3000:])

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

    def wait_for_state(self, invite_id: str, state: str, user: str = "carol@tech.gov.sg", timeout: float = 20.0) -> dict:
        """The request once it is in `state` (read by the auditor carol), or a failure with the services' logs."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.invite(invite_id, user)
            if last.get("state") == state:
                return last
            time.sleep(0.1)
        raise AssertionError(
            f"request {invite_id} never reached {state}; last seen: {last}\n"
            + "\n".join(f"--- {n}\n{self.log(n)[-2500:]}" for n in SERVICES)
        )


def wait_for_ok(url: str, timeout: float = 30.0, *, gone: Callable[[], str | None] = lambda: None,
                log: Callable[[], str] = lambda: "") -> None:
    """Wait until GET `url` answers 200; fail at once when `gone` says why it never will (a process
    that exited), or after `timeout`, with the end of `log`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        why = gone()
        if why:
            raise AssertionError(f"{why}:\n{log()}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {timeout}s:\n{log()}")


def system_env(*, amqp_url: str, namespace: str, db_urls: dict[str, str], smtp_url: str, var_dir: Path, **extra) -> dict[str, str]:
    """The environment of one test system: its own broker namespace, databases, ports and mailbox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTAKE_", "APPROVAL_", "NOTIFIER_", "AMQP_"))}
    env.update(
        AMQP_URL=amqp_url,
        AMQP_NAMESPACE=namespace,
        RETRY_DELAYS=",".join(str(d) for d in RETRY_DELAYS),
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



def databases(kind: str, tmp_path: Path, request) -> dict[str, str]:
    """Each service's database: SQLite files under tmp_path, or PostgreSQL databases from the pool,
    given back when the test ends."""
    if kind == "sqlite":
        return {s: f"sqlite:///{tmp_path / (s + '.db')}" for s in SERVICES}
    pool = request.getfixturevalue("postgres_databases")
    urls = {s: pool.acquire() for s in SERVICES}
    request.addfinalizer(lambda: [pool.release(u) for u in urls.values()])
    return urls


def make_system(request, tmp_path: Path, amqp_url: str, namespace: str, mailbox, kind: str = "sqlite", **extra) -> RunningSystem:
    """A system of the test's own (not started), stopped when the test ends; `extra` are settings."""
    env = system_env(amqp_url=amqp_url, namespace=namespace, db_urls=databases(kind, tmp_path, request),
                     smtp_url=mailbox.url, var_dir=tmp_path / "var", **extra)
    system = RunningSystem(env=env, logs=tmp_path)
    request.addfinalizer(system.stop)
    return system

"""The rehearsal itself: the parts started, the release rendered from the shipped files and run
through the migration Job and its three services (`rehearse`), then compose's (`start_compose`)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.production.parts import (
    PEOPLE, SERVICES, make_roles, relay_for, run_postgres_init, start_broker, why_not_available,
)
from tests.production.timings import record
from tests.support import oidc
from tests.support.certificates import TestAuthority, make_authority
from tests.support.compose_file import compose_workloads, read_compose
from tests.support.deployment import DEPLOY, Workload, render_kubernetes
from tests.support.ingress import Ingress
from tests.support.mailbox import Mailbox
from tests.support.ports import free_port
from tests.support.postgres_cluster import PostgresCluster
from tests.support.rabbitmq_node import RabbitNode
from tests.support.redis_server import RedisServer
from tests.support.release import Process, Swaps, fill_in, local_environment, settings_of, signing_key
from tests.support.scim import ScimServer


@dataclass
class Deployment:
    """Processes started from one deployment file's workloads."""

    processes: dict[str, Process] = field(default_factory=dict)
    migration: subprocess.CompletedProcess | None = None
    init: subprocess.CompletedProcess | None = None  # compose's postgres init script


@dataclass
class Release:
    """Everything the rehearsal runs, and what its tests ask of it."""

    root: Path
    authority: TestAuthority
    postgres: PostgresCluster
    rabbit: RabbitNode
    relay: Mailbox
    redis: RedisServer
    directory: ScimServer
    provider: oidc.OpenIDProvider
    ingress: Ingress
    swaps: Swaps
    workloads: dict[str, Workload]
    started: float
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    migration: subprocess.CompletedProcess | None = None
    compose: Deployment | None = None
    table: tuple = ()
    local: dict[str, int] = field(default_factory=dict)  # part -> its loopback port
    _tokens: dict[str, str] = field(default_factory=dict)

    requesters = [p for p, roles in PEOPLE.items() if p.startswith("req")]
    approvers = ["bob@tech.gov.sg", "dana@tech.gov.sg"]

    @property
    def grace_seconds(self) -> dict[str, float]:
        return {s: self.workloads[s].grace_seconds for s in SERVICES}

    def api_tokens(self) -> dict[str, str]:
        """An API access token per person, from the provider's authorization code flow."""
        if not self._tokens:
            self._tokens = {person: self.provider.api_token(person) for person in PEOPLE}
        return self._tokens

    def require_started(self) -> None:
        """Fail a test that needs the services when the migration step stopped them from starting."""
        if not self.processes:
            raise AssertionError(f"the migration Job failed, so no service was started:\n{self.migration.stdout[-3000:]}")

    def process(self, name: str, workload: Workload, env: dict[str, str], bind_variable: str) -> Process:
        return Process(name, workload.command, env, self.root / "work" / name, self.root / "logs",
                       ready_url=f"http://{env[bind_variable]}/readyz")

    def run_once(self, name: str, argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a command to its end with `env`, in a working folder of its own; output in stdout."""
        workdir = self.root / "work" / name
        workdir.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(argv, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
        (self.root / "logs" / f"{name}.log").write_text(done.stdout)
        return done

    def exec_in(self, process: Process, argv: list[str]) -> subprocess.CompletedProcess:
        """Run a command inside a running process's PID and mount namespaces, as `docker exec` does."""
        return subprocess.run(["nsenter", "-t", str(process.pid1.pid), "-p", "-m", "--", *argv], env=process.env,
                              cwd=process.workdir, capture_output=True, text=True, timeout=30)

    def with_compose(self) -> Deployment:
        """Stop the Kubernetes workloads; start compose's (migrate first) against the same parts."""
        for process in self.processes.values():
            if process.running():
                process.terminate(process_grace(self, process.name))
        self.compose = start_compose(self)
        return self.compose


def process_grace(release: Release, name: str) -> float:
    return release.workloads[name].grace_seconds if name in release.workloads else 30.0


def rehearse(table: tuple[tuple[str, str, str], ...]):
    """Start every part and the release, as a module fixture's generator: `table` says which shipped
    address is served by which part here (test_rehearsal.SWAPS); the release is stopped when resumed."""
    why_not = why_not_available()
    if why_not and os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the production rehearsal: {why_not}")
    if why_not:
        pytest.skip(why_not)
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="rehearsal-"))
    root.chmod(0o755)  # the broker, running as its own user, reads the certificate under it
    (root / "logs").mkdir()
    authority = make_authority(root / "ca")
    parts: list = []
    found: Release | None = None
    try:
        # the operator's files, filled in as the examples say
        example = (DEPLOY / "k8s" / "config" / "secrets.env.example").read_text()
        secrets_env = fill_in(example, {"DIRECTORY_URL": "https://directory.internal/v2",
                                        "DIRECTORY_TOKEN": uuid.uuid4().hex, "DIRECTORY_LOOKUP_TOKEN": uuid.uuid4().hex})
        workloads = render_kubernetes(root, {"secrets.env": secrets_env, "audit-signing-key.pem": signing_key(),
                                             "ca-bundle.pem": authority.ca_file.read_bytes()})
        given = settings_of(secrets_env)

        postgres = PostgresCluster().start()
        parts.append(postgres)
        make_roles(postgres, workloads["invite-users-migrate"].env)
        rabbit = RabbitNode(f"rehearsal-{uuid.uuid4().hex[:6]}", authority=authority).start()
        parts.append(rabbit)
        start_broker(rabbit, [workloads[s].env[f"{s.upper()}_AMQP_URL"] for s in SERVICES])
        relay = relay_for(authority, workloads["notifier"].env["SMTP_URL"]).start()
        parts.append(relay)
        redis = RedisServer().start()
        parts.append(redis)
        directory = ScimServer(given["DIRECTORY_TOKEN"], tokens=(given["DIRECTORY_LOOKUP_TOKEN"],),
                               tls=authority.server_context()).start()
        parts.append(directory)
        local = {"postgres": postgres.port, "rabbitmq-tls": rabbit.tls_port, "rabbitmq": rabbit.amqp_port,
                 "relay": relay.port, "redis": redis.port, "directory": directory.port, "intake-http": free_port(),
                 "intake-metrics": free_port(), "approval-http": free_port(), "notifier-http": free_port()}
        ingress = Ingress(f"http://127.0.0.1:{local['intake-http']}", authority.server_context()).start()
        parts.append(ingress)
        local["ingress"] = ingress.port

        intake = workloads["intake"].env
        assert intake["OIDC_CLIENT_ID"] == oidc.CLIENT_ID, "the provider registers the client the settings name"
        addresses = swaps_for(table, local)
        portal = addresses.apply(intake["PORTAL_URL"])
        provider = oidc.OpenIDProvider(root, addresses.apply(intake["OIDC_REDIRECT_URI"]), f"{portal}/sign-in",
                                       client_secret=intake["OIDC_CLIENT_SECRET"], audience=intake["OIDC_AUDIENCE"],
                                       users={p: {"name": p.split("@")[0].title(), "roles": r} for p, r in PEOPLE.items()},
                                       tls=authority)
        provider.start()
        parts.append(provider)
        local["provider"] = urlsplit(provider.issuer).port
        swaps = swaps_for(table, local)

        found = Release(root, authority, postgres, rabbit, relay, redis, directory, provider, ingress, swaps, workloads,
                        started, table=table, local=local)
        home = root / "home"
        home.mkdir()
        for name, workload in workloads.items():
            found.env[name] = local_environment(workload, swaps, home)

        # the migration step first, exactly as shipped: the Job's command with its environment
        migrate = workloads["invite-users-migrate"]
        began = time.monotonic()
        found.migration = found.run_once("migrate", migrate.command, found.env["invite-users-migrate"])
        record("migration Job (three services)", time.monotonic() - began)
        if found.migration.returncode == 0:
            for service in SERVICES:
                found.processes[service] = found.process(service, workloads[service], found.env[service],
                                                         f"{service.upper()}_BIND").start()
            for service in SERVICES:
                record(f"{service}: start to ready", found.processes[service].wait_ready())
        record("rehearsal set-up (parts, migration, services ready)", time.monotonic() - started)
        yield found
        record("rehearsal total", time.monotonic() - started)
    finally:
        if found is not None:
            for group in (found.processes, (found.compose or Deployment()).processes):
                for process in group.values():
                    process.kill()
        for part in reversed(parts):
            try:
                part.stop()
            except Exception:  # one part failing to stop must not keep the others running
                pass
        shutil.rmtree(root, ignore_errors=True)


def swaps_for(table: tuple[tuple[str, str, str], ...], local: dict[str, int]) -> Swaps:
    """The table's shipped addresses, each to the loopback port of the part that serves it here (an
    address range, to the loopback range the parts connect from)."""
    return Swaps({shipped: LOOPBACK if part == "loopback" else f"127.0.0.1:{local[part]}"
                  for shipped, part, _ in table if part in local or part == "loopback"})


LOOPBACK = "127.0.0.0/8"


def start_compose(release: Release) -> Deployment:
    """compose.yaml's services with a filled-in .env: the broker users and database roles given
    compose's passwords (as its rabbitmq-users service and postgres init do), migrate, then the services."""
    project = release.root / "compose" / "deploy"
    shutil.copytree(DEPLOY, project, ignore=shutil.ignore_patterns("k8s"))
    # the operator's relay and login, as the Kubernetes secrets give them
    dotenv = fill_in((DEPLOY / "compose.env.example").read_text(),
                     {"TLS_CA_FILE": "/etc/invite-users/tls/ca-bundle.pem",
                      "SMTP_URL": release.workloads["notifier"].env["SMTP_URL"]})
    (project / ".env").write_text(dotenv)
    (project / "secrets").mkdir()
    (project / "secrets" / "audit-signing-key.pem").write_bytes(signing_key())
    (project / "tls").mkdir()
    shutil.copyfile(release.authority.ca_file, project / "tls" / "ca-bundle.pem")
    from dotenv import dotenv_values

    variables = {k: v or "" for k, v in dotenv_values(project / ".env").items()}
    workloads = compose_workloads(project, variables)
    swaps = swaps_for(release.table, release.local)
    home = release.root / "compose" / "home"
    home.mkdir()
    env = {name: local_environment(w, swaps, home) for name, w in workloads.items()}
    start_broker(release.rabbit, [env[s][f"{s.upper()}_AMQP_URL"] for s in SERVICES])
    deployment = Deployment()
    # compose's own postgres init runs roles.sql with compose's passwords (here on a cluster that
    # has the roles already: the script sets the passwords it is given)
    deployment.init = run_postgres_init(read_compose(project, variables), project, release.postgres)
    if deployment.init.returncode != 0:
        return deployment
    deployment.migration = release.run_once("compose-migrate", workloads["migrate"].command, env["migrate"])
    if deployment.migration.returncode == 0:
        for service in SERVICES:
            deployment.processes[service] = Process(
                f"compose-{service}", workloads[service].command, env[service], release.root / "work" / f"compose-{service}",
                release.root / "logs", ready_url=f"http://{env[service][f'{service.upper()}_BIND']}/readyz").start()
    return deployment

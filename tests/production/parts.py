"""The real parts the release talks to, made ready from what the shipped files say: the broker's
users and the database's roles with the passwords the secrets carry, the mail relay speaking what
SMTP_URL asks for, the people at the provider; and what the machine must have for all of it."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.support import oidc, postgres_cluster, rabbitmq_node, redis_server
from tests.support.certificates import TestAuthority
from tests.support.deployment import DEPLOY, kubectl
from tests.support.mailbox import Mailbox
from tests.support.pid1 import unshare_available
from tests.support.postgres_cluster import PostgresCluster
from tests.support.rabbitmq_node import RabbitNode

SERVICES = ("intake", "approval", "notifier")
ROLES_SQL = DEPLOY / "postgres" / "roles.sql"
# people at the provider: the journey's three, and requesters and approvers enough for the traffic
# to stay within each person's rate limits
PEOPLE = {"amy@tech.gov.sg": [], "bob@tech.gov.sg": ["approver"], "dana@tech.gov.sg": ["approver"],
          "carol@tech.gov.sg": ["auditor"], **{f"req{n}@tech.gov.sg": [] for n in range(1, 9)}}


def start_broker(rabbit: RabbitNode, urls: list[str]) -> None:
    """Load the shipped definitions, then give each service user the password its URL carries
    (deploy/README.md, "Broker users": import_definitions, then change_password per user)."""
    rabbit.import_definitions(DEPLOY / "rabbitmq" / "definitions.json")
    for url in urls:
        parts = urlsplit(url)
        rabbit.change_password(parts.username, parts.password)


def make_roles(postgres: PostgresCluster, env: dict[str, str]) -> None:
    """Run the shipped roles.sql with the passwords of the migration step's URLs (runtime and migration)."""
    variables = {}
    for service in SERVICES:
        for name, variable in ((f"{service.upper()}_DB_URL", f"{service}_password"),
                               (f"{service.upper()}_MIGRATION_DB_URL", f"{service}_migrator_password")):
            variables[variable] = urlsplit(env[name]).password
    postgres.psql("-f", str(ROLES_SQL), variables=variables)


def relay_for(authority: TestAuthority, smtp_url: str) -> Mailbox:
    """An SMTP relay speaking what SMTP_URL asks for: implicit TLS for smtps://, STARTTLS for
    ?starttls=true, plain otherwise; with AUTH for the URL's user and password when it has them."""
    parts = urlsplit(smtp_url)
    starttls = parse_qs(parts.query).get("starttls", ["false"])[0].lower() in ("true", "1", "yes")
    tls = authority.server_context() if parts.scheme == "smtps" or starttls else None
    login = (parts.username, parts.password) if parts.username else None
    return Mailbox(tls, starttls=starttls, login=login)


def run_postgres_init(spec: dict, project: Path, postgres: PostgresCluster) -> subprocess.CompletedProcess:
    """compose's postgres init script, as the image runs it on a new data volume, against this
    cluster: its psql reaches the server over TCP with the superuser's password instead of through
    the container's socket, and the files mounted for it are the project's copies."""
    service = spec["services"]["postgres"]
    script = spec["configs"]["postgres_databases"]["content"]
    for mount in service["configs"]:
        config = spec["configs"][mount["source"]]
        if "file" in config:
            script = script.replace(mount["target"], str((project / config["file"]).resolve()))
    env = {k: str(v) for k, v in service["environment"].items()} | {
        "PATH": "/usr/bin:/bin", "PGHOST": "127.0.0.1", "PGPORT": str(postgres.port),
        "PGPASSWORD": postgres.superuser_password}
    return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)


def why_not_available() -> str | None:
    """Say what this machine lacks for the rehearsal, or None."""
    if kubectl() is None:
        return "kubectl is missing: `make test-production` installs one"
    if not unshare_available():
        return "unshare cannot make a PID namespace here (it needs root)"
    if not os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium is missing: `make setup` installs Debian's chromium"
    return (rabbitmq_node.why_not_available() or postgres_cluster.why_not_available() or oidc.why_not_available()
            or redis_server.why_not_available()
            or (None if shutil.which("nsenter") else "nsenter is missing (util-linux)"))

"""A RabbitMQ vhost of a test run's own, with the shipped definitions (users, permissions, topology) loaded.

Made with `rabbitmqctl import_definitions` (the management plugin is not assumed to be on),
deleted with one `rabbitmqctl eval` at the end; each call costs a few seconds, so one vhost
serves the whole session.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from kombu import Connection

from invite_common.broker_users import definitions
from invite_common.topology import SERVICES, Topology


@dataclass
class BrokerVhost:
    """A vhost with the definitions loaded: a URL per service user, an admin's, and one of a user without rights."""

    urls: dict[str, str]
    admin: str
    nobody: str

    def depth(self, queue: str) -> int:
        with Connection(self.admin) as conn:
            return conn.channel().queue_declare(queue, passive=True).message_count

    def purge(self, queue: str) -> None:
        with Connection(self.admin) as conn:
            conn.channel().queue_purge(queue)


def _rabbitmqctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout)


def load_vhost(amqp_url: str):
    """Load the definitions, with users and a vhost of this run's own, into the local broker;
    a generator: yields the BrokerVhost, deletes it all when resumed."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not on PATH: cannot create broker users for this test")
    probe = _rabbitmqctl("-q", "list_vhosts")
    if probe.returncode != 0:
        pytest.skip(f"rabbitmqctl cannot manage the local broker: {probe.stderr.strip()[:200]}")
    run = f"t{uuid.uuid4().hex[:8]}"
    vhost = f"{run}-invites"
    users = {service: f"{run}-{service}" for service in SERVICES}
    passwords = {name: uuid.uuid4().hex for name in [*users.values(), f"{run}-admin", f"{run}-nobody"]}
    loaded = definitions(Topology(), vhost=vhost, users=users, passwords={s: passwords[u] for s, u in users.items()})
    loaded["users"] += [{"name": f"{run}-admin", "password": passwords[f"{run}-admin"], "tags": []},
                        {"name": f"{run}-nobody", "password": passwords[f"{run}-nobody"], "tags": []}]
    loaded["permissions"].append({"user": f"{run}-admin", "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"})
    parts = urlparse(amqp_url)
    base = f"{parts.hostname or '127.0.0.1'}:{parts.port or 5672}/{quote(vhost, safe='')}"

    def url(user: str) -> str:
        return f"amqp://{user}:{passwords[user]}@{base}"

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(loaded, file)
    Path(file.name).chmod(0o644)  # rabbitmqctl may read it as the broker's own system user
    try:
        imported = _rabbitmqctl("import_definitions", file.name)
        assert imported.returncode == 0, imported.stderr
        found = BrokerVhost({s: url(u) for s, u in users.items()}, url(f"{run}-admin"), url(f"{run}-nobody"))
        _wait_until_loaded(found, loaded["queues"][-1]["name"])
        yield found
    finally:
        Path(file.name).unlink(missing_ok=True)
        names = ", ".join(f'<<"{u}">>' for u in [*users.values(), f"{run}-admin", f"{run}-nobody"])
        _rabbitmqctl("eval", f'rabbit_vhost:delete(<<"{vhost}">>, <<"tests">>), '
                             f'[rabbit_auth_backend_internal:delete_user(U, <<"tests">>) || U <- [{names}]], ok.')


def _wait_until_loaded(vhost: BrokerVhost, last_queue: str, timeout: float = 30.0) -> None:
    # the import runs in the background: wait until the admin can see its last queue
    deadline = time.monotonic() + timeout
    while True:
        try:
            vhost.depth(last_queue)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)



"""The restore suite's fixtures: sets of databases and roles made by the shipped roles.sql on the real
PostgreSQL (names with a random suffix, dropped afterwards), a broker namespace, a signing key."""
from __future__ import annotations

import uuid

import pytest

from invite_common.topology import Topology
from tests.restore.databases import DatabaseSet, suffix
from tests.support.broker import delete_namespace
from tests.support.system import RETRY_DELAYS


@pytest.fixture
def database_sets(postgres_admin_url):
    """Make sets of databases and roles with `make(database_suffix=…, role_suffix=…)`; all are
    dropped when the test ends (the databases first: the roles own them)."""
    made: list[DatabaseSet] = []

    def make(database_suffix: str | None = None, role_suffix: str | None = None) -> DatabaseSet:
        same = suffix()
        databases = DatabaseSet(postgres_admin_url, database_suffix or same, role_suffix or same)
        made.append(databases)
        return databases

    yield make
    for databases in made:
        databases.drop_databases()
    for databases in made:
        databases.drop_roles()


@pytest.fixture
def restore_namespace(amqp_url):
    """A broker namespace of this test's own, deleted afterwards."""
    ns = f"r{uuid.uuid4().hex[:10]}"
    yield ns
    delete_namespace(amqp_url, Topology(namespace=ns, retry_delays=RETRY_DELAYS))


@pytest.fixture
def signing_keys(tmp_path):
    """Two Ed25519 signing keys as PEM files (the escrowed one, and another), and the first's public half."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    paths = {}
    for name in ("escrowed", "other"):
        key = Ed25519PrivateKey.generate()
        paths[name] = tmp_path / f"{name}-signing-key.pem"
        paths[name].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
        if name == "escrowed":
            paths["public"] = tmp_path / "audit-public-key.pem"
            paths["public"].write_bytes(key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return paths

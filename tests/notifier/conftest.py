"""A real SMTP server (aiosmtpd) on loopback for the notifier's mailer tests; nothing of smtplib is faked.
The notifier's database is real too: migrated, on SQLite and on PostgreSQL."""
from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller

from tests.support.ports import free_port
from tests.support.smtp_recorder import RecordingHandler


@pytest.fixture
def smtp_server():
    """Start aiosmtpd servers on free loopback ports: `port = smtp_server(handler, **smtp_options)`."""
    controllers: list[Controller] = []

    def start(handler: RecordingHandler, **options) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, as (cert file, key file)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


@pytest.fixture
def server_tls_context(tls_certificate, monkeypatch) -> ssl.SSLContext:
    """The server's TLS context; the client trusts its certificate through SSL_CERT_FILE."""
    cert, key = tls_certificate
    # The mailer uses the system trust store, which operators extend the same way.
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def notifier_db(db_url):
    """Notifier's database, migrated and bound for the test, closed and unbound afterwards."""
    from invite_common.db import apply_migrations, connect

    from notifier.db import database
    from notifier.migrations import MIGRATIONS

    db = connect(db_url)
    database.initialize(db)
    apply_migrations(db, MIGRATIONS)
    yield db
    if not db.is_closed():
        db.close()
    database.initialize(None)

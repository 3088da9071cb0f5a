"""A real SMTP server (aiosmtpd) on loopback for the notifier's mailer tests; nothing of smtplib is faked.
The notifier's database is real too: migrated, on SQLite and on PostgreSQL."""
from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One message as the server took it, with the connection it arrived on."""

    peer: tuple
    tls: bool
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    data: bytes  # the message as it came over the wire


@dataclass
class RecordingHandler:
    """Accepts mail and remembers it; can be told to refuse recipients or data with a given reply."""

    rcpt_reply: str | None = None
    data_reply: str | None = None
    refuse_only: str | None = None
    drop_connection_at_data: bool = False
    received: list[Received] = field(default_factory=list)
    noops: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)

    @property
    def connections(self) -> set[tuple]:
        return {item.peer for item in self.received}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply and (self.refuse_only is None or address == self.refuse_only):
            # Real servers echo the address in refusals, e.g. Postfix's "<a@b>: Recipient address rejected".
            return self.rcpt_reply.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_connection_at_data:
            server.transport.close()
            return "250 2.0.0 never heard"
        if self.data_reply:
            return self.data_reply
        self.received.append(
            Received(
                peer=session.peer,
                tls=server.transport.get_extra_info("ssl_object") is not None,
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                message=email.message_from_bytes(envelope.original_content, policy=email.policy.default),
                data=envelope.original_content,
            )
        )
        return "250 2.0.0 OK: queued"

    async def handle_NOOP(self, server, session, envelope, arg):
        self.noops += 1
        return "250 2.0.0 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


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

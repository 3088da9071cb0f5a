"""A certificate authority of a test's own (trustme) and the files TLS servers and clients read.

One CA signs a certificate for the loopback names (`127.0.0.1`, `localhost`); its PEM is what a
service is told to trust with TLS_CA_FILE, so a TLS connection succeeds only when the client
verifies against that authority, exactly as against an organisation's internal CA.
"""
from __future__ import annotations

import base64
import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

LOOPBACK_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class TestAuthority:
    """The CA's certificate and one server certificate it signed, written as PEM files in `folder`."""

    folder: Path
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the loopback certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A TLS client context that trusts this CA alone."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def spki_hash(self) -> str:
        """The server certificate's public-key hash, as Chromium's --ignore-certificate-errors-spki-list takes it."""
        cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        der = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(der).digest()).decode()


def make_authority(folder: Path) -> TestAuthority:
    """Make a CA and a loopback server certificate, readable by every user (servers run as their own)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Invite Users rehearsal CA")
    leaf = ca.issue_cert(*LOOPBACK_NAMES)
    found = TestAuthority(folder, folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    ca.cert_pem.write_to_path(str(found.ca_file))
    leaf.cert_chain_pems[0].write_to_path(str(found.cert_file))
    leaf.private_key_pem.write_to_path(str(found.key_file))
    for path in (folder, found.ca_file, found.cert_file, found.key_file):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return found

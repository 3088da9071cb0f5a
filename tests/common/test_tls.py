"""Outgoing TLS trusts TLS_CA_FILE's authorities instead of the system's, and the broker's certificate
is checked for its authority and its host name (real TLS servers with certificates from a test CA)."""
from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest
import trustme

from invite_common import broker

HTTPS_CLIENT = """
import sys, requests
from invite_common import tls
from notifier import settings
tls.trust(settings.load())
try:
    requests.get(sys.argv[1], timeout=5)
except requests.exceptions.SSLError:
    print("refused")
else:
    print("trusted")
"""


@contextmanager
def tls_server(cert: trustme.LeafCert, answer: bytes = b"", host: str = "127.0.0.1"):
    """A TLS server on a loopback port: it completes the handshake, sends `answer` and closes."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    listener = socket.create_server((host, 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                continue
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    conn.recv(1024)
                    conn.sendall(answer)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def fetch(url: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", HTTPS_CLIENT, url], env={"PATH": "/usr/bin:/bin"} | env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_http_clients_trust_the_bundle_instead_of_the_systems(tmp_path):
    ours, other = trustme.CA(), trustme.CA()
    ours.cert_pem.write_to_path(str(tmp_path / "ours.pem"))
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    with tls_server(ours.issue_cert("127.0.0.1"), answer) as port:
        url = f"https://127.0.0.1:{port}/"
        assert fetch(url, {}) == "refused"
        assert fetch(url, {"TLS_CA_FILE": str(tmp_path / "ours.pem")}) == "trusted"
        assert fetch(url, {"TLS_CA_FILE": str(tmp_path / "other.pem")}) == "refused"


def test_a_tls_ca_file_that_cannot_be_read_stops_the_service_naming_it(tmp_path):
    done = subprocess.run([sys.executable, "-m", "notifier"], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "INVITES_VAR_DIR": str(tmp_path),
                               "TLS_CA_FILE": str(tmp_path / "missing.pem")})
    assert done.returncode == 1
    assert done.stderr.strip().startswith(f"configuration error: TLS_CA_FILE='{tmp_path / 'missing.pem'}'")


@pytest.mark.parametrize("named, refused", [("127.0.0.1", False), ("mq.elsewhere.example", True)],
                         ids=["its-own-name", "another-hosts-name"])
def test_the_broker_must_show_a_trusted_certificate_for_the_host_connected_to(tmp_path, monkeypatch, named, refused):
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    with tls_server(ca.issue_cert(named)) as port:
        conn = broker.connection(f"amqps://invites:s3cret@127.0.0.1:{port}//")
        try:
            with pytest.raises(Exception) as failed:
                conn.connect()
        finally:
            conn.release()
    # past a trusted handshake the server's silence fails the AMQP exchange instead
    assert isinstance(failed.value, ssl.SSLCertVerificationError) is refused, repr(failed.value)


def test_a_plain_broker_url_uses_no_tls():
    assert broker.connection("amqp://invites:s3cret@127.0.0.1:5672//").ssl is False


def test_a_node_failed_over_to_is_checked_under_its_own_name(tmp_path, monkeypatch):
    """The first node is away; the second shows a certificate for its own name only. kombu alone
    would check it against the first node's name, which it kept from the attempt before."""
    from tests.support.ports import free_port

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    with tls_server(ca.issue_cert("127.0.0.2"), host="127.0.0.2") as port:
        conn = broker.connection(f"amqps://invites:s3cret@127.0.0.1:{free_port()}//;amqps://invites:s3cret@127.0.0.2:{port}//")
        try:
            with pytest.raises(Exception) as failed:
                broker.connect(conn)
        finally:
            conn.release()
    assert conn.hostname == "127.0.0.2"
    # the handshake with the second node passed; the AMQP exchange after it met the server's silence
    assert not isinstance(failed.value, ssl.SSLError) and not isinstance(failed.value.__cause__, ssl.SSLError), repr(failed.value)

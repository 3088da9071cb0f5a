"""The servers a run talks to, all on this machine: a check of each address, and a broker connection."""
from __future__ import annotations

from urllib.parse import urlparse

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def check_loopback(url: str, what: str) -> None:
    """Stop the run when `url` names a host that is not this machine."""
    host = urlparse(url).hostname or "127.0.0.1"
    if host not in LOOPBACK:
        raise SystemExit(f"{what} is at {host}: this benchmark only talks to servers on loopback")


def amqp_connection(amqp_url: str):
    """A py-amqp connection (through kombu's URL handling), connected."""
    from kombu import Connection

    conn = Connection(amqp_url, connect_timeout=5)
    conn.connect()
    return conn

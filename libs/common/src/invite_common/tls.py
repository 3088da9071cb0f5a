"""Which certificate authorities a service trusts for its outgoing TLS, and the broker's TLS checks.

TLS_CA_FILE names a PEM bundle that replaces the system's authorities for every outgoing TLS
connection: the identity provider and the SCIM directory (HTTP clients), the mail relay and the
broker. One setting for all of them, because an organisation's internal authority usually signs
them all; include the public roots in the bundle if one of them has a public certificate.
It is applied through the standard variables each client library reads (OpenSSL's SSL_CERT_FILE,
requests' REQUESTS_CA_BUNDLE), so a client added later trusts the same bundle without code.
"""
from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

from invite_common.config import ConfigError, Settings


def trust(settings: Settings) -> None:
    """Make TLS_CA_FILE, when set, the authorities every client in this process trusts."""
    path = settings.tls_ca_file
    if not path:
        return
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"TLS_CA_FILE={path!r} is not a readable PEM bundle of certificates ({exc.__class__.__name__})") from None
    os.environ["SSL_CERT_FILE"] = path
    os.environ["REQUESTS_CA_BUNDLE"] = path


def broker_ssl(amqp_url: str) -> dict | bool:
    """kombu's TLS options for a broker URL: for `amqps://`, the certificate must be signed by a
    trusted authority and name the host connected to (py-amqp checks no host name unless told)."""
    if urlsplit(amqp_url.split(";", 1)[0]).scheme != "amqps":
        return False
    # server_hostname None: kombu fills in the host of the URL it connects to
    return {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}

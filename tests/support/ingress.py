"""A TLS-terminating reverse proxy in front of intake, as a cluster's ingress is.

It serves https with a test authority's certificate and passes each request to intake over plain
HTTP with the headers an ingress adds (`X-Forwarded-For`, `X-Forwarded-Proto: https`,
`X-Forwarded-Host`), so intake, told to trust one proxy hop, sees the browser's scheme and
address. werkzeug's proxy middleware forwards; werkzeug's server terminates the TLS.
"""
from __future__ import annotations

import logging
import ssl

from werkzeug.middleware.http_proxy import ProxyMiddleware

from tests.support.ports import free_port
from tests.support.wsgi_server import serve, shut

logging.getLogger("werkzeug").setLevel(logging.ERROR)


def _forwarded(app):
    """Add what an ingress tells the service behind it about the original request."""

    def wsgi(environ, start_response):
        environ["HTTP_X_FORWARDED_FOR"] = environ.get("REMOTE_ADDR", "")
        environ["HTTP_X_FORWARDED_PROTO"] = "https"
        environ["HTTP_X_FORWARDED_HOST"] = environ.get("HTTP_HOST", "")
        return app(environ, start_response)

    return wsgi


class Ingress:
    """https://127.0.0.1:<port> in front of `target` (http://host:port)."""

    def __init__(self, target: str, tls: ssl.SSLContext, port: int | None = None) -> None:
        self.target = target
        self.tls = tls
        self.port = port or free_port()
        # every path goes to intake, with the browser's Host header, as an ingress passes it
        options = {"target": target, "host": None, "remove_prefix": False, "headers": {}, "ssl_context": None}
        proxy = ProxyMiddleware(None, {}, timeout=60)
        self.app = _forwarded(lambda environ, start: proxy.proxy_to(options, environ["PATH_INFO"], "/")(environ, start))
        self._server = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> "Ingress":
        self._server = serve(self.app, self.port, self.tls, "ingress")
        return self

    def stop(self) -> None:
        shut(self._server)
        self._server = None

"""A WSGI app served on a loopback port from a background thread (werkzeug), plain or over TLS:
the rehearsal's ingress and the SCIM directory both run this way."""
from __future__ import annotations

import ssl
import threading
from collections.abc import Callable

from werkzeug.serving import BaseWSGIServer, make_server


def serve(app: Callable, port: int, tls: ssl.SSLContext | None, name: str, poll: float = 0.1) -> BaseWSGIServer:
    """Start serving `app` on 127.0.0.1:`port`; `poll` is how often the loop looks for a shutdown."""
    server = make_server("127.0.0.1", port, app, threaded=True, ssl_context=tls)
    threading.Thread(target=server.serve_forever, args=(poll,), name=name, daemon=True).start()
    return server


def shut(server: BaseWSGIServer | None) -> None:
    """Stop the loop and free the port (nothing to do for a server never started or already shut)."""
    if server is not None:
        server.shutdown()
        server.server_close()

"""A real SCIM 2.0 server (scim2-server's WSGI application, in memory) on a loopback port.

It serves the RFC 7643 User schema with the enterprise extension, asks for a bearer token (any of
`tokens`, when given: a directory may hand out one for provisioning and a search-only one), over
TLS when given a server context, and
can misbehave on request the way a directory in production does: answer slowly (a timeout, or
a create whose answer is lost after the user was stored), answer 503 or 429 with `Retry-After`
a number of times, or stop listening and come back on the same port.
"""
from __future__ import annotations

import functools
import logging
import ssl
import threading
import time

from scim2_server.memory import InMemoryStorage
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.utils import load_default_provider
from werkzeug.test import Client

from tests.support.ports import free_port
from tests.support.wsgi_server import serve, shut

TOKEN = "scim-test-token"

logging.getLogger("werkzeug").setLevel(logging.ERROR)


@functools.cache
def _provider():
    # reading the RFC's schemas takes a noticeable moment; the provider is immutable, so share it
    return load_default_provider()


class ScimServer:
    """A SCIM server in a thread; `users` is what it holds."""

    def __init__(self, token: str = TOKEN, *, tokens: tuple[str, ...] = (), tls: ssl.SSLContext | None = None) -> None:
        self.token = token
        self.tls = tls
        self.storage = InMemoryStorage()
        self.app = BearerTokenApplication(self.storage, _provider(), bearer_tokens=[token, *tokens])
        self.port = free_port()
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._busy: list[tuple[int, str | None]] = []
        self._delay = 0.0
        self._delay_after_create = 0.0
        self._competitor: dict | None = None
        self._server = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/v2"

    @property
    def users(self) -> list[dict]:
        return [r.model_dump() for r in self.storage.resources if "userName" in r.model_dump()]

    # lifecycle ----------------------------------------------------------------------------------
    def start(self) -> "ScimServer":
        self._server = serve(self._wsgi, self.port, self.tls, "scim", poll=0.05)
        return self

    def stop(self) -> None:
        shut(self._server)
        self._server = None

    go_down = stop

    def come_back(self) -> None:
        """Listen again on the same port, with the same users."""
        self.start()

    # faults -------------------------------------------------------------------------------------
    def answer_busy(self, times: int, status: int = 503, retry_after: str | None = None) -> None:
        """Answer the next `times` requests with `status` (and `Retry-After`) instead of serving them."""
        with self._lock:
            self._busy = [(status, retry_after)] * times

    def answer_slowly(self, seconds: float) -> None:
        """Wait `seconds` before serving each request (0 to stop)."""
        self._delay = seconds

    def race_next_create(self, user: dict) -> None:
        """Have another client create `user` just before the next POST is served."""
        self._competitor = user

    def add_user(self, user: dict) -> dict:
        """Create a user as another client of the directory would."""
        client = Client(self.app)
        response = client.post(
            "/v2/Users", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], **user},
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"},
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    def lose_create_answers(self, seconds: float) -> None:
        """Store created users, then hold the answer `seconds` (longer than the client waits)."""
        self._delay_after_create = seconds

    # the WSGI entry -----------------------------------------------------------------------------
    def _wsgi(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        with self._lock:
            self.requests.append((method, path))
            busy = self._busy.pop(0) if self._busy else None
        if busy is not None:
            status, retry_after = busy
            headers = [("Content-Type", "application/scim+json")]
            if retry_after is not None:
                headers.append(("Retry-After", retry_after))
            start_response(f"{status} Busy", headers)
            return [b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "%d"}' % status]
        if self._delay:
            time.sleep(self._delay)
        if method == "POST" and self._competitor is not None:
            competitor, self._competitor = self._competitor, None
            self.add_user(competitor)
        body = self.app(environ, start_response)
        if method == "POST" and self._delay_after_create:
            time.sleep(self._delay_after_create)
        return body

    def creates(self) -> int:
        """How many POSTs reached the server."""
        return sum(1 for method, _ in self.requests if method == "POST")

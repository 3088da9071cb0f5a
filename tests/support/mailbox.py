"""A real SMTP server (aiosmtpd) that keeps what it receives and can refuse for a while.

Like a standards-keeping relay it refuses, with 500, a message with a line over 998 bytes
(RFC 5322; 1,000 with the CRLF, RFC 5321): a message that only a lenient server takes is not sent.
Like a production relay it can also speak TLS (implicit, as for `smtps://`, or after STARTTLS) and
take mail only from a client that logged in (AUTH PLAIN or LOGIN) with its one user's password."""
from __future__ import annotations

import asyncio
import email
import email.policy
import secrets
import ssl
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.support.ports import free_port

# the longest line, CRLF included, that RFC 5321 lets a server be sent (aiosmtpd's own default is 1,001)
LINE_LIMIT = 1000


class StrictSMTP(SMTP):
    """aiosmtpd's server, refusing a line over 998 bytes with "500 Line too long"."""

    line_length_limit = LINE_LIMIT


class StrictController(Controller):
    """A Controller serving StrictSMTP."""

    def factory(self):
        return StrictSMTP(self.handler, **self.SMTP_kwargs)


class Mailbox:
    """Accepts mail on a loopback port; `refuse_next(n)` answers 451 to the next n messages.

    With `tls` (a server context) it speaks TLS, from the first byte (`starttls=False`) or after
    STARTTLS, and with `login` (user, password) it takes mail only after AUTH as that user. Each
    message kept says how it came: `X-Received-Over` (tls or plain) and `X-Authenticated-As`."""

    def __init__(self, tls: ssl.SSLContext | None = None, *, starttls: bool = False,
                 login: tuple[str, str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.refused = 0
        self._refuse = 0
        self._delay = 0.0
        self._lock = threading.Lock()
        self.port = free_port()
        self.tls, self.starttls, self.login = tls, starttls, login
        self._controller = self._make_controller()

    def _make_controller(self) -> Controller:
        options: dict = {}
        if self.tls is not None and self.starttls:
            options |= {"tls_context": self.tls, "require_starttls": True}
        if self.login is not None:
            # aiosmtpd counts only STARTTLS as encryption; with implicit TLS every byte is encrypted anyway
            options |= {"authenticator": self._authenticate, "auth_required": True,
                        "auth_require_tls": self.tls is not None and self.starttls}
        implicit = self.tls if self.tls is not None and not self.starttls else None
        return StrictController(self, hostname="127.0.0.1", port=self.port, ssl_context=implicit, **options)

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.login is None:
            return AuthResult(success=False, handled=False)
        user, password = self.login
        given_user, given_password = auth_data.login.decode(), auth_data.password.decode()
        ok = given_user == user and secrets.compare_digest(given_password, password)
        return AuthResult(success=ok, handled=False, auth_data=given_user if ok else None)

    @property
    def url(self) -> str:
        login = f"{self.login[0]}:{self.login[1]}@" if self.login else ""
        if self.tls is not None and not self.starttls:
            return f"smtps://{login}127.0.0.1:{self.port}"
        return f"smtp://{login}127.0.0.1:{self.port}" + ("?starttls=true" if self.tls is not None else "")

    def start(self) -> "Mailbox":
        self._controller.start()
        return self

    def stop(self) -> None:
        try:
            self._controller.stop()
        except AssertionError:  # already stopped by go_down
            pass

    def go_down(self) -> None:
        """Stop listening, as a mail server that crashed would."""
        self._controller.stop()

    def come_back(self) -> None:
        """Listen again on the same port."""
        self._controller = self._make_controller()
        self._controller.start()

    def refuse_next(self, count: int) -> None:
        with self._lock:
            self._refuse = count

    def answer_slowly(self, seconds: float) -> None:
        """Take `seconds` over each message before answering it (0 to stop), as a busy server does."""
        self._delay = seconds

    async def handle_DATA(self, server, session, envelope):
        if self._delay:
            await asyncio.sleep(self._delay)
        with self._lock:
            if self._refuse > 0:
                self._refuse -= 1
                self.refused += 1
                return "451 4.3.0 Mailbox temporarily unavailable, try again later"
            message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
            over_tls = server.transport is not None and server.transport.get_extra_info("ssl_object") is not None
            message["X-Received-Over"] = "tls" if over_tls else "plain"
            message["X-Authenticated-As"] = str(session.auth_data) if session.authenticated else ""
            self.messages.append(message)
        return "250 2.0.0 OK: queued"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"].split(",")]

    def wait_for(self, address: str, timeout: float = 30.0) -> list[EmailMessage]:
        """The messages to `address` once at least one has come; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not self.to(address):
            if time.monotonic() > deadline:
                raise AssertionError(f"no message to {address} within {timeout}s")
            time.sleep(0.1)
        return self.to(address)


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()

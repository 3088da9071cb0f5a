"""A real SMTP server (aiosmtpd) that keeps what it receives and can refuse for a while.

Like a standards-keeping relay it refuses, with 500, a message with a line over 998 bytes
(RFC 5322; 1,000 with the CRLF, RFC 5321): a message that only a lenient server takes is not sent."""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

# the longest line, CRLF included, that RFC 5321 lets a server be sent (aiosmtpd's own default is 1,001)
LINE_LIMIT = 1000


class StrictSMTP(SMTP):
    """aiosmtpd's server, refusing a line over 998 bytes with "500 Line too long"."""

    line_length_limit = LINE_LIMIT


class StrictController(Controller):
    """A Controller serving StrictSMTP."""

    def factory(self):
        return StrictSMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """Accepts mail on a loopback port; `refuse_next(n)` answers 451 to the next n messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused = 0
        self._refuse = 0
        self._delay = 0.0
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = StrictController(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

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
        self._controller = StrictController(self, hostname="127.0.0.1", port=self.port)
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
            self.messages.append(message)
        return "250 2.0.0 OK: queued"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["X-Envelope-To"].split(",")]


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()

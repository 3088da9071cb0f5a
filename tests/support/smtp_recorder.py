"""An aiosmtpd handler that keeps each message with the connection it came on, and can be told to
refuse recipients or data with a given reply or to drop the connection, for the notifier's mailer tests."""
from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.smtp import AuthResult


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

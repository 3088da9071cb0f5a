"""Deliver rendered emails over SMTP, keeping one connection open between messages."""
from __future__ import annotations

import re
import select
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from invite_common.errors import Outage, PermanentError, TransientError
from notifier.message import InvalidRecipient, check_recipient, compose_bytes, message_id_for, parse_sender
from notifier.rendering import RenderedEmail

__all__ = [
    "InvalidRecipient", "PermanentSmtpError", "SmtpEndpoint", "SmtpMailer",
    "TransientSmtpError", "message_id_for", "parse_smtp_url",
]

# Anything shaped like an address in a server reply is hidden: servers often echo the recipient.
_ADDRESS_IN_TEXT = re.compile(r"<?[^\s<>()\[\]:;,\"']+@[^\s<>()\[\]:;,\"']+>?")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


class TransientSmtpError(TransientError):
    """The mail server could not take the message now (4xx, outage, timeout): try again later."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class SmtpUnavailable(TransientSmtpError, Outage):
    """The mail server cannot be reached or will not greet us: wait for it, whatever the message."""


class PermanentSmtpError(PermanentError):
    """The mail server refused the message for good (5xx, e.g. unknown user)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SmtpEndpoint:
    """Where and how to reach the mail server, as given by SMTP_URL."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpEndpoint:
    """Read `smtp://[user:pass@]host[:port][?starttls=true]` or `smtps://[user:pass@]host[:port]`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("SMTP_URL takes no path or fragment")
    implicit_tls = parts.scheme == "smtps"
    starttls = False
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key != "starttls" or implicit_tls:
            raise ValueError(f"SMTP_URL does not take the option {key!r} here")
        if value.lower() not in _TRUE | _FALSE:
            raise ValueError("SMTP_URL starttls must be true or false")
        starttls = value.lower() in _TRUE
    return SmtpEndpoint(
        host=parts.hostname,
        port=parts.port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def hide_addresses(text: str) -> str:
    """Return `text` on one line with anything like an email address replaced: safe to log."""
    return _ADDRESS_IN_TEXT.sub("<address>", " ".join(text.split()))


def _server_text(raw: bytes | str) -> str:
    """Return a mail server's reply text for logs, with anything like an address hidden."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return hide_addresses(text)[:300]


def _refusal(code: int, raw: bytes | str, stage: str) -> TransientSmtpError | PermanentSmtpError:
    """Turn a server's reply to one step of a delivery into the error the consumer acts on."""
    message = f"SMTP {code} at {stage}: {_server_text(raw)}"
    if 500 <= code <= 599:
        return PermanentSmtpError(message, code)
    return TransientSmtpError(message, code)


class SmtpMailer:
    """Sends rendered emails from MAIL_FROM through the server at SMTP_URL."""

    # A connection idle longer than this is probed with NOOP before reuse: servers drop idle
    # clients silently (typically after 60-300 s) and a dead socket is only noticed on write.
    idle_check_seconds = 30.0

    def __init__(self, smtp_url: str, mail_from: str, timeout: float = 10.0) -> None:
        self.endpoint = parse_smtp_url(smtp_url)
        self.sender = parse_sender(mail_from)
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0
        self._lock = threading.Lock()

    def message_id(self, request_id: str, template: str, send_key: str | int) -> str:
        """Return the stable Message-ID for one (request, template, send) under MAIL_FROM's domain."""
        return message_id_for(request_id, template, send_key, self.sender.domain)

    def send(self, to: str, rendered: RenderedEmail, message_id: str) -> None:
        """Deliver one email, raising TransientSmtpError to retry or PermanentSmtpError to give up."""
        recipient = check_recipient(to)
        data, eight_bit = compose_bytes(self.sender, recipient, rendered, message_id)
        with self._lock:
            smtp = self._connection()
            # declare 8-bit content where the server understands the declaration
            options = ["BODY=8BITMIME"] if eight_bit and smtp.has_extn("8bitmime") else []
            try:
                smtp.sendmail(self.sender.address, [recipient], data, mail_options=options)
            except smtplib.SMTPRecipientsRefused as exc:
                # Its text and its dict both name the recipient: raise from None keeps them out of logs.
                code, raw = next(iter(exc.recipients.values()))
                raise self._after_refusal(_refusal(code, raw, "RCPT TO")) from None
            except smtplib.SMTPSenderRefused as exc:
                raise self._after_refusal(_refusal(exc.smtp_code, exc.smtp_error, "MAIL FROM")) from None
            except smtplib.SMTPDataError as exc:
                raise self._after_refusal(_refusal(exc.smtp_code, exc.smtp_error, "DATA")) from None
            except smtplib.SMTPResponseException as exc:
                raise self._after_refusal(_refusal(exc.smtp_code, exc.smtp_error, "SMTP")) from None
            except (smtplib.SMTPException, OSError) as exc:
                self._discard()
                raise TransientSmtpError(f"SMTP delivery interrupted: {type(exc).__name__}: {exc}") from exc
            self._last_used = time.monotonic()

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        with self._lock:
            if self._smtp is not None:
                try:
                    self._smtp.quit()
                except (smtplib.SMTPException, OSError):
                    pass
            self._discard()

    def __enter__(self) -> SmtpMailer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _after_refusal(self, error: TransientSmtpError | PermanentSmtpError) -> TransientSmtpError | PermanentSmtpError:
        # smtplib has already sent RSET after a refusal, so a 5xx leaves a usable connection;
        # a 4xx (421 above all) may mean the server is going away.
        if isinstance(error, TransientSmtpError):
            self._discard()
        return error

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None and self._is_stale(self._smtp):
            self._discard()
        if self._smtp is None:
            self._smtp = self._connect()
            self._last_used = time.monotonic()
        return self._smtp

    def _is_stale(self, smtp: smtplib.SMTP) -> bool:
        sock = smtp.sock
        if sock is None:
            return True
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        # Between transactions the server has nothing to say: anything readable is EOF or a
        # parting 421, and either way the connection is done. poll() costs no round trip.
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if poller.poll(0):
            return True
        if time.monotonic() - self._last_used > self.idle_check_seconds:
            try:
                return smtp.noop()[0] != 250
            except (smtplib.SMTPException, OSError):
                return True
        return False

    def _connect(self) -> smtplib.SMTP:
        endpoint = self.endpoint
        # Left to itself smtplib resolves this machine's FQDN for EHLO, a DNS lookup that can stall.
        helo_name = self.sender.domain
        try:
            if endpoint.implicit_tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    endpoint.host, endpoint.port, local_hostname=helo_name,
                    timeout=self.timeout, context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(endpoint.host, endpoint.port, local_hostname=helo_name, timeout=self.timeout)
            try:
                smtp.ehlo()
                if endpoint.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if endpoint.username is not None:
                    smtp.login(endpoint.username, endpoint.password or "")
            except BaseException:
                smtp.close()
                raise
        # Failing to connect, greet or log in is the server's or the configuration's state,
        # never the message's: always worth another try once it is fixed.
        except smtplib.SMTPResponseException as exc:
            raise SmtpUnavailable(
                f"SMTP {exc.smtp_code} while connecting to {endpoint.host}:{endpoint.port}: "
                f"{_server_text(exc.smtp_error)}",
                exc.smtp_code,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SmtpUnavailable(
                f"cannot reach SMTP server {endpoint.host}:{endpoint.port}: {type(exc).__name__}: {exc}"
            ) from exc
        return smtp

    def _discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

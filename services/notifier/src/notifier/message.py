"""Compose an email whose every header is safe: checked recipient, fixed sender, stable Message-ID."""
from __future__ import annotations

import binascii
import email.policy
import email.utils
import functools
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

import idna

from invite_common.errors import PermanentError
from notifier.rendering import RenderedEmail

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_MESSAGE_ID = re.compile(r"<[0-9a-f]+@[a-z0-9.-]+>")


class InvalidRecipient(PermanentError):
    """The recipient is not a plain ASCII addr-spec that can safely be put in a header."""


@dataclass(frozen=True)
class Sender:
    """MAIL_FROM, read once: the From header, the envelope address and its domain."""

    header: str
    address: str
    domain: str
    folded: bytes = b""  # the whole From line as it goes on the wire, encoded once


# The longest line RFC 5322 allows, CRLF not counted; SMTP relays refuse a longer one.
MAX_LINE = 998

# Header values that may go on the wire as they are: printable ASCII, short enough not to fold.
_PLAIN_HEADER = re.compile(r"[\x20-\x7e]{1,70}")


@functools.lru_cache(maxsize=1024)
def ascii_domain(domain: str) -> str:
    """Return a hostname IDNA-encoded and lower-cased, or raise ValueError if it is not one."""
    # cached: IDNA encoding was a tenth of an email's CPU, and invitees share a few domains
    try:
        encoded = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise ValueError("not a valid domain") from exc
    if len(encoded) > 253 or not _HOSTNAME.fullmatch(encoded) or encoded.rsplit(".", 1)[1].isdigit():
        raise ValueError("not a valid domain")
    return encoded


def check_recipient(to: str) -> str:
    """Return the recipient as an ASCII addr-spec safe for a header, or raise InvalidRecipient."""
    # Python 3.11's header folding and address parsing have known injection bugs, so only
    # a plain dot-atom address is let through; the messages never quote the address itself.
    if not isinstance(to, str):
        raise InvalidRecipient("the recipient is not a string")
    if "\r" in to or "\n" in to:
        raise InvalidRecipient("the recipient contains a line break")
    if any(ch.isspace() for ch in to) or any(ch in to for ch in "<>,;\"()[]\\"):
        raise InvalidRecipient("the recipient is not a bare address")
    if "=?" in to:
        raise InvalidRecipient("the recipient contains an encoded-word marker '=?'")
    if to.count("@") != 1:
        raise InvalidRecipient("the recipient must contain exactly one '@'")
    local, domain = to.split("@")
    if not local.isascii() or len(local) > 64 or not _DOT_ATOM.fullmatch(local):
        raise InvalidRecipient("the recipient's local part is not a plain ASCII dot-atom")
    try:
        address = f"{local}@{ascii_domain(domain)}"
    except ValueError:
        raise InvalidRecipient("the recipient's domain is not a valid hostname") from None
    if len(address) > 254:
        raise InvalidRecipient("the recipient is longer than 254 characters")
    return address


def parse_sender(mail_from: str) -> Sender:
    """Read MAIL_FROM (e.g. 'TechPass Invites <no-reply@invites.local>'), or raise ValueError."""
    if "\r" in mail_from or "\n" in mail_from:
        raise ValueError("MAIL_FROM contains a line break")
    header = email.policy.SMTP.header_factory("From", mail_from)
    if header.defects or len(header.addresses) != 1 or not header.addresses[0].domain:
        raise ValueError("MAIL_FROM must be one address, e.g. 'TechPass Invites <no-reply@invites.local>'")
    address = header.addresses[0]
    folded = header.fold(policy=email.policy.SMTP).encode("ascii")
    return Sender(header=str(header), address=address.addr_spec, domain=ascii_domain(address.domain), folded=folded)


def message_id_for(request_id: str, template: str, send_key: str | int, domain: str) -> str:
    """Return the Message-ID for one (request, template, send), the same each time it is asked for."""
    # A JSON array keeps the three values apart: ("a-b", "c") and ("a", "b-c") differ.
    material = json.dumps([str(request_id), str(template), str(send_key)])
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return f"<{digest}@{ascii_domain(domain)}>"


def _subject_line(subject: str) -> bytes:
    # check_subject has refused line breaks, control characters and "=?"; a plain short subject
    # is written as it is, anything else is RFC 2047-encoded and folded by the email package
    if _PLAIN_HEADER.fullmatch(subject):
        return f"Subject: {subject}\r\n".encode("ascii")
    return email.policy.SMTP.header_factory("Subject", subject).fold(policy=email.policy.SMTP).encode("ascii")


def _text_part(content_type: str, text: str) -> tuple[bytes, bool]:
    """One body part, and whether it needs 8-bit transport (as the email package's SMTP policy would send it)."""
    data = text.encode("utf-8")
    lines = data.splitlines()
    if any(len(line) > MAX_LINE for line in lines):
        # A relay refuses a line over 998 bytes (RFC 5322, "500 Line too long"), and a long reason or
        # name makes one: such a part goes quoted-printable, whose soft line breaks keep every line
        # under 77 characters and vanish when the part is read. Other parts stay as written.
        lines = binascii.b2a_qp(b"\n".join(lines), istext=True).split(b"\n")
        encoding, eight_bit = "quoted-printable", False
    else:
        eight_bit = not text.isascii() or any(len(line) > 78 for line in lines)
        encoding = "8bit" if eight_bit else "7bit"
    head = (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode("ascii")
    return head + b"\r\n".join(lines) + b"\r\n", eight_bit


def compose_bytes(sender: Sender, to: str, rendered: RenderedEmail, message_id: str) -> tuple[bytes, bool]:
    """Write the multipart/alternative (text, then HTML) message for one checked recipient as wire bytes.

    Returns the bytes and whether they need 8-bit transport. Written directly rather than built
    with EmailMessage, whose composition and flattening cost more than rendering and sending
    together; every header is either fixed, checked ASCII (recipient, Message-ID) or encoded.
    """
    recipient = check_recipient(to)
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError("message_id must come from message_id_for()")
    boundary = f"=_{secrets.token_hex(16)}"
    text, text_8bit = _text_part("text/plain", rendered.text)
    html, html_8bit = _text_part("text/html", rendered.html)
    head = (
        sender.folded
        + f"To: {recipient}\r\n".encode("ascii")
        + _subject_line(rendered.subject)
        + (
            f"Date: {email.utils.formatdate(usegmt=True)}\r\n"
            f"Message-ID: {message_id}\r\n"
            # RFC 3834: tells auto-responders (out-of-office) not to answer a no-reply address.
            "Auto-Submitted: auto-generated\r\n"
            "MIME-Version: 1.0\r\n"
            f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        ).encode("ascii")
    )
    # the line break before a delimiter belongs to the delimiter (RFC 2046), not to the part
    body = (
        f"--{boundary}\r\n".encode("ascii") + text
        + f"\r\n--{boundary}\r\n".encode("ascii") + html
        + f"\r\n--{boundary}--\r\n".encode("ascii")
    )
    return head + body, text_8bit or html_8bit


"""Compose an email whose every header is safe: checked recipient, fixed sender, stable Message-ID."""
from __future__ import annotations

import email.policy
import email.utils
import hashlib
import json
import re
from dataclasses import dataclass
from email.message import EmailMessage

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


def ascii_domain(domain: str) -> str:
    """Return a hostname IDNA-encoded and lower-cased, or raise ValueError if it is not one."""
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
    return Sender(header=str(header), address=address.addr_spec, domain=ascii_domain(address.domain))


def message_id_for(request_id: str, template: str, send_key: str | int, domain: str) -> str:
    """Return the Message-ID for one (request, template, send), the same each time it is asked for."""
    # A JSON array keeps the three values apart: ("a-b", "c") and ("a", "b-c") differ.
    material = json.dumps([str(request_id), str(template), str(send_key)])
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return f"<{digest}@{ascii_domain(domain)}>"


def compose(sender: Sender, to: str, rendered: RenderedEmail, message_id: str) -> EmailMessage:
    """Build the multipart/alternative (text, then HTML) message for one checked recipient."""
    recipient = check_recipient(to)
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError("message_id must come from message_id_for()")
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = sender.header
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = message_id
    # RFC 3834: tells auto-responders (out-of-office) not to answer a no-reply address.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message

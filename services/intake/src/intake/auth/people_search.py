"""The people an administrator may mean as they type an email on the Roles page: from the directory
(DIRECTORY_URL) when one is configured, otherwise from the people intake has seen.

Seen means the requesters, the invitees and the role holders; a name and organisation come from the
latest request made for the person. What was typed matches the start of an email, a first name, a
last name or a full name, whatever its case; `%` and `_` in it are letters, not wildcards. A
directory that cannot answer is logged (without what was typed) and the seen people are shown.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import peewee

from intake.invites import directory
from intake.models import InviteRequest, RoleGrant

log = logging.getLogger(__name__)

MOST_FOUND = 10


@dataclass(frozen=True)
class FoundPerson:
    """One person an administrator may mean."""

    email: str
    name: str = ""
    organisation: str = ""


@dataclass(frozen=True)
class Found:
    """The people found, and where: `directory` or `seen`."""

    source: str
    people: list[FoundPerson]


def find(typed: str, limit: int = MOST_FOUND) -> Found:
    """The people whose email or name starts with `typed` (at most `limit` of them)."""
    if directory.configured():
        try:
            people = directory.current().people_starting(typed, limit)
        except directory.LookupFailed as exc:
            log.warning("directory search skipped: showing the people intake has seen", extra={"error": str(exc)})
        else:
            return Found("directory", sorted((FoundPerson(p.email, p.name, p.organisation) for p in people),
                                             key=lambda p: (p.name.lower() or "~", p.email)))
    return Found("seen", seen(typed, limit))


def seen(typed: str, limit: int = MOST_FOUND) -> list[FoundPerson]:
    """The requesters, invitees and role holders whose email or name starts with `typed`."""
    typed = typed.strip()
    invitee = InviteRequest.erased_at.is_null()
    full_name = InviteRequest.first_name.concat(" ").concat(InviteRequest.last_name)
    # startswith is a case-insensitive LIKE that escapes the wildcards in what was typed
    emails = (
        InviteRequest.select(InviteRequest.email.alias("email"))
        .where(invitee & (InviteRequest.email.startswith(typed) | InviteRequest.first_name.startswith(typed)
                          | InviteRequest.last_name.startswith(typed) | full_name.startswith(typed)))
        | InviteRequest.select(InviteRequest.requester.alias("email")).where(InviteRequest.requester.startswith(typed))
        | RoleGrant.select(RoleGrant.email.alias("email")).where(RoleGrant.email.startswith(typed))
    )
    found = [email for (email,) in emails.order_by(peewee.SQL("email")).limit(limit).tuples()]
    known: dict[str, tuple[str, str]] = {}
    for request in (InviteRequest.select(InviteRequest.email, InviteRequest.first_name, InviteRequest.last_name,
                                         InviteRequest.organisation)
                    .where(InviteRequest.email.in_(found) & invitee).order_by(InviteRequest.created_at.desc())):
        name = " ".join(p for p in (request.first_name, request.last_name) if p)
        known.setdefault(request.email, (name, request.organisation))
    return [FoundPerson(email, *known.get(email, ("", ""))) for email in found]

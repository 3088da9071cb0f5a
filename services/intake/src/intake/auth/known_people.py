"""What intake knows of a person before an administrator grants them a role, so a typo or a stranger is
noticed: invite requests for or by them, their part in the history, roles granted to them now or before,
and an account in the directory (DIRECTORY_URL) when one is configured.

Intake keeps no record of sign-ins of its own (a session lives only in its cookie), so someone who has
only ever signed in is known here by what they did, or by the directory.
"""
from __future__ import annotations

from dataclasses import dataclass

from intake.auth.roles import GRANTABLE, ROLE_HISTORY_KEY
from intake.invites import directory
from intake.models import HistoryEntry, InviteRequest, RoleGrant


@dataclass(frozen=True)
class KnownPerson:
    """What was found about one address: `seen` is False when nothing was."""

    email: str
    name: str = ""
    organisation: str = ""
    seen_as: tuple[str, ...] = ()

    @property
    def seen(self) -> bool:
        return bool(self.seen_as)


def look_up(email: str) -> KnownPerson:
    """Find what intake and the directory know of this (normalised) email."""
    seen_as: list[str] = []
    invited = (InviteRequest.select(InviteRequest.first_name, InviteRequest.last_name, InviteRequest.organisation)
               .where((InviteRequest.email == email) & InviteRequest.erased_at.is_null())
               .order_by(InviteRequest.created_at.desc()).first())
    name = organisation = ""
    if invited is not None:
        seen_as.append("invited through Invite Users")
        name = " ".join(p for p in (invited.first_name, invited.last_name) if p)
        organisation = invited.organisation
    if InviteRequest.select().where(InviteRequest.requester == email).exists():
        seen_as.append("has requested invitations")
    if RoleGrant.select().where(RoleGrant.email == email).exists():
        seen_as.append("holds a role")
    elif HistoryEntry.select().where((HistoryEntry.request_id == ROLE_HISTORY_KEY)
                                     & HistoryEntry.note.in_([f"{r} {email}" for r in GRANTABLE])).exists():
        seen_as.append("held a role before")
    if HistoryEntry.select().where(HistoryEntry.actor == email).exists():
        seen_as.append("appears in the request history")
    account = directory.person(email)
    if account is not None:
        seen_as.append("has an account in the directory")
        # the directory's record is the person's own; a request's was typed by someone inviting them
        name, organisation = account.name or name, account.organisation or organisation
    return KnownPerson(email=email, name=name, organisation=organisation, seen_as=tuple(seen_as))

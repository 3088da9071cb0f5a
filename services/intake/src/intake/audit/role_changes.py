"""What auditors search about roles: every grant and revocation recorded in the history.

Role changes belong to no request: they share one history key (auth/roles.ROLE_HISTORY_KEY), and
each is named by its entry's id, which never changes. An entry's note is "<role> <email>" and its
details hold the same two facts; the filters read the note, which is plain text in every database.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import peewee
from marshmallow import Schema, fields, validate

from intake.audit.chain import Cursor, newest_first_page, utc_iso
from intake.audit.filters import given
from intake.auth.roles import GRANTABLE, ROLE_HISTORY_KEY
from intake.models import HistoryEntry
from intake.validation.fields import Moment
from intake.validation.problems import CHOICE, TOO_LONG

EVENTS = ("role_granted", "role_revoked")


@dataclasses.dataclass(frozen=True)
class RoleFilters:
    """The filters on role changes; empty values filter nothing."""

    person: str = ""
    role: str = ""
    by: str = ""
    from_: dt.datetime | None = None
    to: dt.datetime | None = None

    @classmethod
    def of(cls, values: dict) -> "RoleFilters":
        return given(cls, values)


class RoleFilterArgs(Schema):
    """The filters as a query string gives them (the API's moments; the page reads days instead)."""

    person = fields.String(validate=validate.Length(max=254, error=TOO_LONG),
                           metadata={"description": "the address that was given or lost the role (exact, any case)"})
    role = fields.String(validate=validate.OneOf(GRANTABLE, error=CHOICE))
    by = fields.String(validate=validate.Length(max=254, error=TOO_LONG),
                       metadata={"description": "who made the change (exact, any case; ROLE_GRANTS for the setting)"})
    from_ = Moment(data_key="from")
    to = Moment()


def _lower(value: str) -> str:
    return value.strip().lower()


def changes(f: RoleFilters) -> peewee.ModelSelect:
    """The matching role changes, newest first."""
    conditions = [HistoryEntry.request_id == ROLE_HISTORY_KEY, HistoryEntry.event.in_(EVENTS)]
    if f.person:
        conditions.append(HistoryEntry.note.endswith(" " + _lower(f.person)))
    if f.role:
        conditions.append(HistoryEntry.note.startswith(f.role + " "))
    if f.by:
        # ROLE_GRANTS is written in capitals; people's addresses in lower case
        by = f.by.strip()
        conditions.append(HistoryEntry.actor.in_({by, by.lower()}))
    if f.from_:
        conditions.append(HistoryEntry.at >= f.from_)
    if f.to:
        conditions.append(HistoryEntry.at < f.to)
    return HistoryEntry.select().where(*conditions).order_by(HistoryEntry.at.desc(), HistoryEntry.id.desc())


def get(entry_id: int) -> HistoryEntry | None:
    """One role change by its entry id, or None when that entry is not a role change."""
    return HistoryEntry.get_or_none((HistoryEntry.id == entry_id) & (HistoryEntry.request_id == ROLE_HISTORY_KEY)
                                    & HistoryEntry.event.in_(EVENTS))


def facts(entry: HistoryEntry) -> dict:
    """The role and the person an entry is about."""
    details = json.loads(entry.details or "{}")
    role, _, person = (entry.note or "").partition(" ")
    return {"role": details.get("role", role), "person": details.get("email", person)}


def for_person(email: str) -> list[HistoryEntry]:
    """Every role change of one person, oldest first: the person's role timeline."""
    return list(changes(RoleFilters(person=email)).order_by(HistoryEntry.at, HistoryEntry.id))


def as_dict(entry: HistoryEntry) -> dict:
    """A role change as the API gives it."""
    return {"id": entry.id, "position": entry.chain_seq, "at": utc_iso(entry.at), "event": entry.event,
            **facts(entry), "by": entry.actor, "hash": entry.hash}


def page(f: RoleFilters, *, after: Cursor | None = None, limit: int = 100) -> tuple[list[dict], Cursor | None]:
    """One page of matching role changes, newest first, and the cursor to continue after (None on the last)."""
    return newest_first_page(changes(f), as_dict, after=after, limit=limit)

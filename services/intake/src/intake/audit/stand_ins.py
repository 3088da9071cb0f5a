"""What auditors read about stand-ins: every stand-in an approver named, and every one ended early.

Stand-ins belong to no request: they share one history key (approvals/delegations.DELEGATION_HISTORY_KEY). An
entry's note is "<stand-in> for <approver>"; its details hold both, the roles, and the period."""
from __future__ import annotations

import json

import peewee
from marshmallow import Schema, fields, validate

from intake.approvals.delegations import DELEGATION_HISTORY_KEY, ENDED, NAMED
from intake.audit.chain import Cursor, newest_first_page, utc_iso
from intake.models import HistoryEntry
from intake.validation.problems import TOO_LONG

EVENTS = (NAMED, ENDED)


class StandInFilterArgs(Schema):
    """The one filter: a person, as the approver or as the stand-in."""

    person = fields.String(validate=validate.Length(max=254, error=TOO_LONG),
                           metadata={"description": "the approver or the stand-in (exact address, any case)"})


def changes(person: str = "") -> peewee.ModelSelect:
    """Stand-ins named and ended, about `person` when given, newest first."""
    conditions = [HistoryEntry.request_id == DELEGATION_HISTORY_KEY, HistoryEntry.event.in_(EVENTS)]
    person = person.strip().lower()
    if person:
        conditions.append(HistoryEntry.note.startswith(person + " for ") | HistoryEntry.note.endswith(" for " + person))
    return HistoryEntry.select().where(*conditions).order_by(HistoryEntry.at.desc(), HistoryEntry.id.desc())


def as_dict(entry: HistoryEntry) -> dict:
    """A stand-in entry as the API gives it: who stood in for whom, for which period, who recorded it and when."""
    details = json.loads(entry.details or "{}")
    return {"id": entry.id, "position": entry.chain_seq, "at": utc_iso(entry.at), "event": entry.event,
            "delegation": details.get("delegation"), "approver": details.get("approver"),
            "stand_in": details.get("stand_in"), "roles": details.get("roles", []),
            "starts_at": details.get("starts_at"), "ends_at": details.get("ends_at"), "by": entry.actor,
            "hash": entry.hash}


def page(person: str = "", *, after: Cursor | None = None, limit: int = 100) -> tuple[list[dict], Cursor | None]:
    """One page of stand-in entries, newest first, and the cursor to continue after (None on the last)."""
    return newest_first_page(changes(person), as_dict, after=after, limit=limit)

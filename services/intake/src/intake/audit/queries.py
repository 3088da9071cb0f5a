"""What auditors search: requests and their recorded events, by the same filters everywhere.

A request matches when its requester (part of the address), invitee email (part of it), approver, state, method,
batch or id match; with a date range, it must also have had an event in that range. Events match
when their request matches and they happened in the range. Pages are keyset-paged by the entry's
id, and exports read in keyset chunks, so memory stays flat whatever the size.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Iterator

import peewee
from invite_common.messages import Decision
from invite_common.people import person_key

from intake.approvals import delegations
from intake.audit.chain import raw_rows, utc_iso
from intake.audit.filters import Filters
from intake.auth.roles import ROLE_HISTORY_KEY
from intake.models import HistoryEntry, InviteRequest

# the entries that record an approver's decision (asked for in intake, applied by approval)
DECISION_EVENTS = tuple(f"{d}_requested" for d in Decision.ALL) + Decision.ALL

EVENT_COLUMNS = (
    HistoryEntry.id, HistoryEntry.chain_seq, HistoryEntry.at, HistoryEntry.request_id, HistoryEntry.event,
    HistoryEntry.from_state, HistoryEntry.to_state, HistoryEntry.actor, HistoryEntry.note, HistoryEntry.details,
    HistoryEntry.hash, InviteRequest.email, InviteRequest.requester, InviteRequest.method, InviteRequest.state,
    InviteRequest.batch_id,
)
EVENT_FIELDS = ("id", "position", "at", "request_id", "event", "from_state", "to_state", "actor", "note", "details",
                "hash", "invitee_email", "requester", "method", "request_state", "batch_id")


def _lower(value: str) -> str:
    return value.strip().lower()


def _request_conditions(f: Filters, request_key=InviteRequest.id) -> list:
    """Conditions on the request; `request_key` is the column naming it (the request's or an entry's)."""
    conditions = []
    if f.requester:
        conditions.append(InviteRequest.requester.contains(_lower(f.requester)))
    if f.email:
        # stored addresses are lower-case; contains() escapes the % and _ an auditor types
        conditions.append(InviteRequest.email.contains(_lower(f.email)))
    if f.state:
        conditions.append(InviteRequest.state == f.state)
    if f.method:
        conditions.append(InviteRequest.method == f.method)
    if f.batch:
        conditions.append(InviteRequest.batch_id == f.batch.strip())
    if f.request_id:
        conditions.append(InviteRequest.id == f.request_id.strip())
    if f.approver:
        decisions = HistoryEntry.alias()
        decided = (decisions.select(decisions.request_id)
                   .where(decisions.event.in_(DECISION_EVENTS) & (decisions.actor == _lower(f.approver))))
        conditions.append(request_key.in_(decided))
    return conditions


ROLE_EVENTS = ("role_granted", "role_revoked")
STAND_IN_EVENTS = (delegations.NAMED, delegations.ENDED)
DELEGATION_HISTORY_KEY = delegations.DELEGATION_HISTORY_KEY


def _person_condition(email: str):
    """Entries one person took part in: of requests they asked for or that invite them, entries they
    acted in, and role changes about them. Each part compares as the existing filters do: actors as
    the approver filter (the lower-cased address), invitees by person key (as earlier requests are
    found), role changes by their note (as the role-change filter)."""
    address = _lower(email)
    invitee = (InviteRequest.invitee_key == person_key(address)) | (
        InviteRequest.invitee_key.is_null() & (InviteRequest.email == address))
    theirs = InviteRequest.select(InviteRequest.id).where((InviteRequest.requester == address) | invitee)
    about_them = ((HistoryEntry.request_id == ROLE_HISTORY_KEY) & HistoryEntry.event.in_(ROLE_EVENTS)
                  & HistoryEntry.note.endswith(" " + address))
    # a stand-in named for someone else is about the stand-in too (its note: "<stand-in> for <approver>")
    stood_in = ((HistoryEntry.request_id == DELEGATION_HISTORY_KEY) & HistoryEntry.event.in_(STAND_IN_EVENTS)
                & HistoryEntry.note.startswith(address + " for "))
    return HistoryEntry.request_id.in_(theirs) | (HistoryEntry.actor == address) | about_them | stood_in


def capacity(event: dict, email: str) -> str:
    """In which capacity a person took part in one of their events: requester, approver, administrator,
    invitee or the person a role change was about."""
    address = _lower(email)
    if event["request_id"] == ROLE_HISTORY_KEY:
        return "administrator" if event["actor"] == address else "role holder"
    if event["request_id"] == DELEGATION_HISTORY_KEY:
        details = event.get("details") or {}
        details = json.loads(details) if isinstance(details, str) else details
        if details.get("stand_in") == address:
            return "stand-in"
        return "approver" if details.get("approver") == address else "administrator"
    if event["actor"] == address and event["event"] in DECISION_EVENTS:
        return "approver"
    if event["requester"] == address:
        return "requester"
    if event["invitee_email"] and person_key(event["invitee_email"]) == person_key(address):
        return "invitee"
    return "approver" if event["actor"] == address else "other"


def _time_conditions(f: Filters, column=HistoryEntry.at) -> list:
    conditions = []
    if f.from_:
        conditions.append(column >= f.from_)
    if f.to:
        conditions.append(column < f.to)
    return conditions


def requests(f: Filters) -> peewee.ModelSelect:
    """The matching requests, newest first."""
    query = InviteRequest.select()
    conditions = _request_conditions(f)
    if f.from_ or f.to:
        # alias: the subquery's own history table, apart from any outer one
        inner = HistoryEntry.alias()
        active = inner.select(inner.request_id).where(*_time_conditions(f, inner.at))
        conditions.append(InviteRequest.id.in_(active))
    if conditions:
        query = query.where(*conditions)
    return query.order_by(InviteRequest.created_at.desc(), InviteRequest.id.desc())


REQUEST_COLUMNS = ("email", "requester", "method", "state", "batch_id")
# filters that pick few requests: their entries are found request first, not by walking time
NARROW_FILTERS = ("request_id", "batch", "requester")


def _narrow(f: Filters) -> bool:
    """Whether the filters pick few requests. A requester given by a domain alone (`@tech.gov.sg`)
    may match most requests: those entries are found by walking time, as with no filter."""
    return any(getattr(f, name) and not (name == "requester" and _lower(f.requester).startswith("@"))
               for name in NARROW_FILTERS)


def _events_query(f: Filters) -> peewee.ModelSelect:
    history = [c for c in EVENT_COLUMNS if c.model is HistoryEntry]
    if _narrow(f):
        # Materialised, so the database finds the few requests first and then their entries,
        # instead of walking every entry in time order looking for them.
        matching = (InviteRequest.select(InviteRequest.id, *(getattr(InviteRequest, c) for c in REQUEST_COLUMNS))
                    .where(*_request_conditions(f)).cte("matching", materialized=True))
        query = (HistoryEntry.select(*history, *(matching.c[c] for c in REQUEST_COLUMNS))
                 .join(matching, on=(HistoryEntry.request_id == matching.c.id)).with_cte(matching))
        conditions = _time_conditions(f)
    else:
        # an outer join: role changes and other entries that belong to no request are events too
        query = HistoryEntry.select(*EVENT_COLUMNS).join(
            InviteRequest, peewee.JOIN.LEFT_OUTER, on=(HistoryEntry.request_id == InviteRequest.id))
        # on the entry's request id: the database can then test each entry before fetching its request
        conditions = _request_conditions(f, HistoryEntry.request_id) + _time_conditions(f)
    if f.person:
        conditions.append(_person_condition(f.person))
    return query.where(*conditions) if conditions else query


def _as_event(row: tuple) -> dict:
    event = dict(zip(EVENT_FIELDS, row))
    event["at"] = utc_iso(event["at"])
    event["details"] = json.loads(event["details"] or "{}")
    return event


Cursor = tuple[dt.datetime, int]


def _moment(raw) -> dt.datetime:
    """A row's raw `at` (text on SQLite, naive UTC on PostgreSQL) as an aware datetime, for a cursor."""
    return dt.datetime.fromisoformat(utc_iso(raw))


def _after(query: peewee.ModelSelect, cursor: Cursor, newest_first: bool) -> peewee.ModelSelect:
    key, value = peewee.Tuple(HistoryEntry.at, HistoryEntry.id), peewee.Tuple(HistoryEntry.at.db_value(cursor[0]), cursor[1])
    return query.where(key < value if newest_first else key > value)


def _in_time_order(query: peewee.ModelSelect, newest_first: bool) -> peewee.ModelSelect:
    if newest_first:
        return query.order_by(HistoryEntry.at.desc(), HistoryEntry.id.desc())
    return query.order_by(HistoryEntry.at, HistoryEntry.id)


def events_page(f: Filters, *, newest_first: bool = True, after: Cursor | None = None,
                limit: int = 100) -> tuple[list[dict], Cursor | None]:
    """One page of matching events in time order, and the cursor to continue after (None on the last page)."""
    query = _events_query(f)
    if after is not None:
        query = _after(query, after, newest_first)
    rows = raw_rows(_in_time_order(query, newest_first).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return [_as_event(r) for r in rows], ((_moment(rows[-1][2]), rows[-1][0]) if more and rows else None)


def count_events(f: Filters) -> int:
    """How many events match (for the pages' numbered lists)."""
    return _events_query(f).count()


def events_at(f: Filters, offset: int, limit: int) -> list[dict]:
    """Matching events from a place in time order, oldest first: one numbered page of a portal list."""
    return [_as_event(r) for r in raw_rows(_in_time_order(_events_query(f), False).limit(limit).offset(offset))]


def iter_event_rows(f: Filters, chunk: int = 5000) -> Iterator[tuple]:
    """Every matching event as the driver's row (EVENT_FIELDS order, `at` unconverted), oldest first,
    read a chunk at a time."""
    after = None
    while True:
        query = _events_query(f)
        if after is not None:
            query = _after(query, after, newest_first=False)
        rows = raw_rows(_in_time_order(query, newest_first=False).limit(chunk))
        yield from rows
        if len(rows) < chunk:
            return
        after = (_moment(rows[-1][2]), rows[-1][0])


def timeline(request_id: str) -> list[HistoryEntry]:
    """Everything recorded about one request, in the order it was recorded."""
    return list(HistoryEntry.select().where(HistoryEntry.request_id == request_id).order_by(HistoryEntry.id))

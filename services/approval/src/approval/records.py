"""Approval's reads and writes of a request and its transitions, one named function each.

The per-message ones run statements built once (invite_common.statements, prepared on
PostgreSQL): peewee's query builder cost more CPU than the statement itself on every message.
A read "for update" locks the row until the transaction ends where the database can
(PostgreSQL); SQLite's transactions hold the write lock from their start.
"""
from __future__ import annotations

import datetime as dt

from invite_common.db import for_update
from invite_common.errors import TransientError
from invite_common.statements import Statements

from approval.models import InviteRequest, Transition

_requests = Statements(InviteRequest)
_transitions = Statements(Transition)


class RequestNotYetKnown(TransientError):
    """A message about a request whose submission has not arrived yet (it was retried out of order)."""


def add_request(values: dict) -> bool:
    """Insert a newly submitted request; False, with nothing written, when its id is known already."""
    return _requests.insert(values, ignore=True) == 1


def read_request(request_id: str) -> InviteRequest | None:
    """The request as it stands, without a lock (for work done outside a transaction), or None."""
    return _requests.get(id=request_id)


def lock_request(request_id: str) -> InviteRequest | None:
    """The request, locked for this transaction (a replica may be moving it right now), or None."""
    return _requests.get(lock=True, id=request_id)


def load_for_update(request_id: str) -> InviteRequest:
    """The request a message is about, locked for this transaction; RequestNotYetKnown (retried) if absent."""
    request = _requests.get(lock=True, id=request_id)
    if request is None:
        raise RequestNotYetKnown(f"request {request_id} is not known yet")
    return request


def lock_submitted_before(cutoff: dt.datetime, states: frozenset[str]) -> list[InviteRequest]:
    """The requests in one of `states` that were submitted before `cutoff`, locked.

    Every replica sweeps, and PostgreSQL re-checks the state of a row another one held."""
    return list(for_update(InviteRequest.select().where(
        InviteRequest.state.in_(sorted(states)) & (InviteRequest.submitted_at < cutoff)
    )))


def save_request(request: InviteRequest) -> None:
    """Write the request's columns changed since it was read (nothing when none changed)."""
    _requests.save_changes(request)


def add_transition(request: InviteRequest, *, from_state: str | None, to_state: str, verb: str, actor: str,
                   note: str, at: dt.datetime, caused_by: str | None) -> None:
    """Log one move of the request (its `seq` already advanced), in its transition log."""
    _transitions.insert({
        "request": request.id, "seq": request.seq, "from_state": from_state, "to_state": to_state, "verb": verb,
        "actor": actor, "note": note, "at": at, "caused_by": caused_by,
    })

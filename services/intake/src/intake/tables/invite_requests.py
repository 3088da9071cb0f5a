"""The invite_request table, with the usernames its requests reserve (taken_username): every read and
write the services make of them, each a named function.

The submit, decide and state-event paths and the quotas' counts run on statements built once
(invite_common.statements) and prepared on PostgreSQL: peewee's query builder cost more than the
queries themselves there. The rest are peewee queries, a few hundred keys at a time.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from peewee import fn

from invite_common.db import for_update, utcnow
from invite_common.statements import Statements

from intake import lifecycle
from intake.models import HistoryEntry, InviteRequest, TakenUsername

_requests = Statements(InviteRequest)
_usernames = Statements(TakenUsername)

# what a state event reads and may change of a request
STATE_COLUMNS = ("id", "state", "state_seq", "pending_action", "pending_actor", "open_email", "open_username_key",
                 "updated_at", "requester", "email", "level", "level_role", "level_agency", "level_since", "deciders",
                 "assignee")
# bound the IN lists so no database meets its parameter limit
_CHUNK = 500


# requests ------------------------------------------------------------------------------------------

def insert(invite: InviteRequest) -> None:
    """Record a new request."""
    _requests.insert(invite.__data__)


def insert_many(invites: list[InviteRequest]) -> None:
    """Record many new requests with bulk inserts."""
    InviteRequest.bulk_create(invites, batch_size=500)


def get(invite_id: str) -> InviteRequest | None:
    """The request with this id, whole, or None."""
    return InviteRequest.get_or_none(InviteRequest.id == invite_id)


def get_many(invite_ids: Iterable[str]) -> dict[str, InviteRequest]:
    """The requests with these ids (id, requester, state and the action accepted on it), by id."""
    found = {}
    for chunk in _chunks(invite_ids):
        found.update((i.id, i) for i in InviteRequest.select(
            InviteRequest.id, InviteRequest.requester, InviteRequest.state, InviteRequest.pending_action,
        ).where(InviteRequest.id.in_(chunk)))
    return found


def get_locked(invite_id: str) -> InviteRequest | None:
    """The request with this id, held until the transaction ends (PostgreSQL), or None."""
    return for_update(InviteRequest.select().where(InviteRequest.id == invite_id)).first()


def get_to_decide(invite_id: str) -> InviteRequest | None:
    """What a decision needs of the request: who asked, for whom, its state and the level it waits in and who
    decides it; None if there is none."""
    return _requests.get(("id", "requester", "email", "state", "level", "level_role", "level_agency", "deciders",
                          "assignee"), id=invite_id)


def get_to_change_state(invite_id: str) -> InviteRequest | None:
    """What a state event reads and may change of the request (STATE_COLUMNS), locked until the transaction ends."""
    return _requests.get(STATE_COLUMNS, lock=True, id=invite_id)


def save_changes(invite: InviteRequest) -> None:
    """Write the request's columns changed since it was read."""
    _requests.save_changes(invite)


def claim(invite_id: str, action: str, actor: str) -> bool:
    """Mark a request awaiting a decision (lifecycle.awaiting_decision) as decided or cancelled by `actor`,
    in one statement; False when it was not awaiting one, so exactly one of racing claims succeeds."""
    st = _requests

    def build(param: str, postgres: bool) -> str:
        return (
            f'UPDATE "{st.table}" SET {st.column("pending_action")} = {param}, {st.column("pending_actor")} = {param}, '
            f'{st.column("updated_at")} = {param} WHERE {st.column("id")} = {param} AND {st.column("state")} = {param} '
            f'AND {st.column("pending_action")} IS NULL'
        )

    now = InviteRequest.updated_at.db_value(utcnow())
    return st.execute(st.sql(("claim",), build), (action, actor, now, invite_id, lifecycle.SUBMITTED)).rowcount == 1


def open_for_person(key: str) -> InviteRequest | None:
    """The person's open request (its id and requester), by their person key, or None."""
    return _requests.get(("id", "requester"), open_email=key)


def open_for_people(keys: Iterable[str]) -> list[InviteRequest]:
    """The open requests (id, person key, requester) of any of these person keys."""
    found = []
    for chunk in _chunks(keys):
        found.extend(InviteRequest.select(InviteRequest.id, InviteRequest.open_email, InviteRequest.requester).where(
            InviteRequest.open_email.in_(chunk)))
    return found


def account_holder(key: str, email: str) -> InviteRequest | None:
    """The request (its id and requester) that made the person's account, by their person key, or None."""
    def build(param: str, postgres: bool) -> str:
        holds = ", ".join(param for _ in lifecycle.HOLDS_ACCOUNT)
        ended = ", ".join(param for _ in lifecycle.MAY_HAVE_MADE_ACCOUNT)
        # a request the previous version stored during a rollout has no key: its address is compared;
        # one that failed or was closed after making the account says so in its history
        return (f'SELECT "id", "requester" FROM "invite_request" WHERE ("invitee_key" = {param} OR '
                f'("invitee_key" IS NULL AND "email" = {param})) AND ("state" IN ({holds}) OR ("state" IN ({ended}) '
                f'AND EXISTS (SELECT 1 FROM "history_entry" WHERE "history_entry"."request_id" = "invite_request"."id" '
                f'AND "history_entry"."to_state" IN ({holds})))) LIMIT 1')

    row = _requests.execute(_requests.sql(("account_held_by_person",), build),
                            (key, email, *lifecycle.HOLDS_ACCOUNT, *lifecycle.MAY_HAVE_MADE_ACCOUNT,
                             *lifecycle.HOLDS_ACCOUNT)).fetchone()
    return None if row is None else InviteRequest(id=row[0], requester=row[1])


def people_with_accounts(keys: Iterable[str]) -> set[str]:
    """Which of these person keys hold an account made by a request here."""
    made = HistoryEntry.select(HistoryEntry.id).where(
        (HistoryEntry.request_id == InviteRequest.id) & HistoryEntry.to_state.in_(lifecycle.HOLDS_ACCOUNT))
    found: set[str] = set()
    for chunk in _chunks(keys):
        # a request the previous version stored during a rollout has no key: its address is compared
        query = InviteRequest.select(InviteRequest.email, InviteRequest.invitee_key).where(
            (InviteRequest.invitee_key.in_(chunk) | (InviteRequest.invitee_key.is_null() & InviteRequest.email.in_(chunk)))
            & (InviteRequest.state.in_(lifecycle.HOLDS_ACCOUNT)
               | (InviteRequest.state.in_(lifecycle.MAY_HAVE_MADE_ACCOUNT) & fn.EXISTS(made)))
        )
        found.update(i.invitee_key or i.email for i in query)
    return found


# usernames -----------------------------------------------------------------------------------------

def username_in_use(key: str) -> bool:
    """Whether an open request asks for this username key, or an account was given it."""
    return _requests.exists(open_username_key=key) or _usernames.exists(username_key=key)


def usernames_in_use(keys: Iterable[str]) -> set[str]:
    """Which of these username keys an open request asks for, or an account was given."""
    found: set[str] = set()
    for chunk in _chunks(keys):
        found.update(i.open_username_key for i in InviteRequest.select(InviteRequest.open_username_key).where(
            InviteRequest.open_username_key.in_(chunk)))
        found.update(t.username_key for t in TakenUsername.select(TakenUsername.username_key).where(
            TakenUsername.username_key.in_(chunk)))
    return found


def record_username(key: str, request_id: str) -> None:
    """Remember a username approval gave an account (once, however often its event comes)."""
    _usernames.insert({"username_key": key, "request_id": request_id}, ignore=True)


# a requester's counts, for the quotas ---------------------------------------------------------------

def _count_sql(name: str, condition: str) -> str:
    def build(param: str, postgres: bool) -> str:
        return f'SELECT COUNT(*) FROM "invite_request" WHERE "requester" = {param} AND {condition.format(param=param)}'

    return _requests.sql(("quota", name), build)


def count_open(requester: str) -> int:
    """How many of the requester's requests are open (an index of requester and open_email)."""
    return _requests.execute(_count_sql("open", '"open_email" IS NOT NULL'), (requester,)).fetchone()[0]


def count_made_since(requester: str, since: dt.datetime) -> int:
    """How many requests the requester made since `since` (an index of requester and created_at)."""
    sql = _count_sql("today", '"created_at" >= {param}')
    return _requests.execute(sql, (requester, InviteRequest.created_at.db_value(since))).fetchone()[0]


def first_made_since(requester: str, since: dt.datetime) -> dt.datetime | None:
    """When the requester's first request since `since` was made, or None."""
    first = (InviteRequest.select(InviteRequest.created_at)
             .where((InviteRequest.requester == requester) & (InviteRequest.created_at >= since))
             .order_by(InviteRequest.created_at).first())
    return first.created_at if first else None


def wait_for_turn(lock: int, key: int) -> None:
    """Wait until no other transaction holds the advisory lock (lock, key); hold it until this one ends.

    Nothing to run on SQLite: a writing transaction has held the database's write lock since it began."""
    sql = _requests.sql(("quota", "lock"), _lock_sql)
    if sql:
        _requests.execute(sql, (lock, key))


def _lock_sql(param: str, postgres: bool) -> str:
    return f"SELECT pg_advisory_xact_lock({param}, {param})" if postgres else ""


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]

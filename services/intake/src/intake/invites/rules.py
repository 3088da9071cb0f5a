"""Who may be invited: one open request per person, one account per person, nobody invites themselves.

The same rules hold for a single request and for every row of a batch; what a clash says about
another requester's request (its id) is said only to someone who may open that request.
"""
from __future__ import annotations

from collections.abc import Iterable

from intake import directory
from intake.errors import Conflict, InvalidInput
from intake.identity import Caller
from intake.models import InviteRequest, invite_requests

# A request in one of these states has made the invitee's TechPass account.
ACCOUNT_STATES = ("account_created", "seed_requested", "emailed")

OPEN_REQUEST = "An open request for this email already exists."
HAS_ACCOUNT = "This person already has a TechPass account: they can sign in with it, no new invitation is needed."
SELF_INVITATION = "You cannot invite yourself. Ask a colleague to request your account."


def may_open(caller: Caller, invite: InviteRequest) -> bool:
    """Tell whether the caller may see the request: its requester, an approver or an auditor."""
    return caller.is_approver or caller.is_auditor or invite.requester == caller.email


def shown_id(caller: Caller, invite: InviteRequest) -> str | None:
    """The request's id if the caller may open it; None keeps another requester's request unnamed."""
    return invite.id if may_open(caller, invite) else None


def check_not_self(email: str, caller: Caller) -> None:
    """Refuse a request whose invitee is the requester."""
    if email == caller.email:
        raise InvalidInput({"email": [SELF_INVITATION]})


def check_no_account(email: str, caller: Caller) -> None:
    """Refuse a request for someone who already holds an account made here (409)."""
    def build(param: str, postgres: bool) -> str:
        states = ", ".join(param for _ in ACCOUNT_STATES)
        return f'SELECT "id", "requester" FROM "invite_request" WHERE "email" = {param} AND "state" IN ({states}) LIMIT 1'

    # built once: every submission asks
    row = invite_requests.execute(invite_requests.sql(("account_held",), build), (email, *ACCOUNT_STATES)).fetchone()
    if row is not None:
        held = InviteRequest(id=row[0], requester=row[1])
        raise Conflict(HAS_ACCOUNT, field="email", existing_id=shown_id(caller, held))


def check_not_in_directory(email: str) -> None:
    """Refuse a request for someone whose account exists only in the directory (made some other way)."""
    if email in directory.holders([email]):
        raise Conflict(HAS_ACCOUNT, field="email")


def check_no_open_request(email: str, caller: Caller) -> None:
    """Refuse a second open request for the same email (409)."""
    existing = invite_requests.get(("id", "requester"), open_email=email)  # SQL built once: every submission asks
    if existing is not None:
        raise Conflict(OPEN_REQUEST, field="email", existing_id=shown_id(caller, existing))


def emails_with_accounts(emails: Iterable[str]) -> set[str]:
    """Which of these emails already hold an account made here, in one query per 500 (the
    directory's own accounts are asked for separately, outside any transaction)."""
    ordered = sorted(set(emails))
    found: set[str] = set()
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        query = InviteRequest.select(InviteRequest.email).where(
            InviteRequest.email.in_(chunk) & InviteRequest.state.in_(ACCOUNT_STATES)
        )
        found.update(i.email for i in query)
    return found

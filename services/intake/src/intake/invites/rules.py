"""Who may be invited: one open request per person, one account per person, nobody invites themselves.

A person is known by the person key of their address (invite_common.people): `amy+x@tech.gov.sg`
is amy. The same rules hold for a single request and for every row of a batch; what a clash says
about another requester's request (its id) is said only to someone who may open that request.
"""
from __future__ import annotations

from invite_common.people import person_key, same_person

from intake import lifecycle
from intake.auth.identity import Caller
from intake.errors import Conflict, InvalidInput
from intake.invites import directory
from intake.models import InviteRequest
from intake.tables import invite_requests
from intake.validation.problems import declare

OPEN_REQUEST = "An open request for this email already exists."
HAS_ACCOUNT = "This person already has a TechPass account: they can sign in with it, no new invitation is needed."
SELF_INVITATION = "You cannot invite yourself. Ask a colleague to request your account."
NOT_YOURS_TO_REPEAT = declare("repeats.unknown", "None of your requests has this id.")
NOT_ENDED = declare("repeats.not_ended", "Only a request that ended without its invitation (rejected, cancelled, "
                                         "expired, failed or closed) can be asked for again; this one is {state}.")


def may_open(caller: Caller, invite: InviteRequest) -> bool:
    """Tell whether the caller may see the request: its requester, an approver or an auditor."""
    return caller.is_approver or caller.is_auditor or invite.requester == caller.email


def shown_id(caller: Caller, invite: InviteRequest) -> str | None:
    """The request's id if the caller may open it; None keeps another requester's request unnamed."""
    return invite.id if may_open(caller, invite) else None


def check_not_self(email: str, caller: Caller) -> None:
    """Refuse a request whose invitee is the requester, at any of their addresses."""
    if same_person(email, caller.email):
        raise InvalidInput({"email": [SELF_INVITATION]})


def check_no_account(email: str, caller: Caller) -> None:
    """Refuse a request for someone who already holds an account made here (409)."""
    held = invite_requests.account_holder(person_key(email), email)
    if held is not None:
        raise Conflict(HAS_ACCOUNT, field="email", existing_id=shown_id(caller, held))


def check_not_in_directory(email: str) -> None:
    """Refuse a request for someone whose account exists only in the directory (made some other way)."""
    if person_key(email) in directory.people_holding([email]):
        raise Conflict(HAS_ACCOUNT, field="email")


def check_no_open_request(email: str, caller: Caller) -> None:
    """Refuse a second open request for the same person (409)."""
    existing = invite_requests.open_for_person(person_key(email))
    if existing is not None:
        raise Conflict(OPEN_REQUEST, field="email", existing_id=shown_id(caller, existing))


def repeatable(request_id: str, caller: Caller) -> InviteRequest:
    """The caller's own request that ended without its invitation, which a new request repeats; else 422
    naming `repeats` (another requester's request is not told apart from one that does not exist)."""
    earlier = invite_requests.get(request_id)
    if earlier is None or earlier.requester != caller.email:
        raise InvalidInput({"repeats": [NOT_YOURS_TO_REPEAT]})
    if not lifecycle.can_request_again(earlier):
        raise InvalidInput({"repeats": [NOT_ENDED.format(state=earlier.state)]})
    return earlier

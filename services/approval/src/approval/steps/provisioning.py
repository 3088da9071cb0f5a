"""The `provision` step: the approved invitee's TechPass account is created, then the step after it starts."""
from __future__ import annotations

from invite_common.errors import PermanentError
from invite_common.messages import Step, UserType, Verb

from approval import workflow
from approval.adapters.directory import AccountDirectory, AccountExists, ProvisionedAccount
from approval.adapters.enrolment import DeviceEnrolment
from approval.models import InviteRequest
from approval.moves import SYSTEM, Moves
from approval.steps import invitation, next_step


def create_account(request: InviteRequest, directory: AccountDirectory) -> ProvisionedAccount:
    """Ask the directory for the request's account (the same one however often it is asked).

    The directory is asked by email first: a person holds one account, so an account made for
    anything but this request is a permanent failure, never a second username. Safe to run
    outside any transaction, and again after a crash or a redelivery: the directory keys the
    account on the request id."""
    held = directory.find_by_email(request.email)
    # a directory that cannot say which request made an account (request_id None) tells its own
    # accounts apart when creating, and raises AccountExists itself
    if held is not None and held.request_id not in (None, request.id):
        raise AccountExists("the invitee already has a TechPass account; no second account was created")
    return directory.create_account(
        request_id=request.id,
        username=request.username if request.user_type == UserType.VENDOR else None,
        email=request.email,
        first_name=request.first_name,
        last_name=request.last_name,
        user_type=request.user_type,
        organisation=request.organisation,
        department=request.department,
        contact_number=request.contact_number,
    )


def provision(request: InviteRequest, moves: Moves, directory: AccountDirectory, enrolment: DeviceEnrolment,
              activation_url: str, prepared: ProvisionedAccount | None = None) -> None:
    """Record the account (`prepared` outside the transaction, or created now), then book SEED or ask for the invitation."""
    account = prepared or create_account(request, directory)
    request.username = account.username
    moves.move(request, Verb.PROVISION, actor=SYSTEM, details={"username": account.username})
    step = workflow.step_after_account(invitation.needs_seed(request))
    next_step.take(step, request, moves, enrolment, activation_url)


def provision_now(request: InviteRequest, moves: Moves, directory: AccountDirectory, enrolment: DeviceEnrolment,
                  activation_url: str) -> None:
    """Provision a request approved in this very transaction, whose directory is in approval's database.

    A refusal (username taken, say) fails the request as an exhausted provisioning step would,
    instead of undoing the approval."""
    try:
        account = create_account(request, directory)
    except PermanentError as exc:
        moves.move(request, Verb.FAIL, actor=SYSTEM, note=f"{Step.PROVISION} failed: {exc}")
        return
    provision(request, moves, directory, enrolment, activation_url, prepared=account)

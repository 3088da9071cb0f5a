"""Start the step the workflow chose next: the invitation email at once, an automatic step through `approval.advance`."""
from __future__ import annotations

from approval import workflow
from approval.adapters.enrolment import DeviceEnrolment
from approval.models import InviteRequest
from approval.moves import Moves
from approval.steps import invitation


def take(step: str, request: InviteRequest, moves: Moves, enrolment: DeviceEnrolment, activation_url: str) -> None:
    """Start `step` for `request`: asking for the invitation email costs nothing outside, so it is
    asked for in this transaction; an automatic step's retries and giving up are the consumer's."""
    if step == workflow.SEND_INVITATION_EMAIL:
        invitation.send_invitation(request, moves, enrolment, activation_url)
    else:
        moves.start_step(request, step)

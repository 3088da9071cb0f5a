"""The `request_seed` step: the invitee's device is booked for SEED onboarding, then the invitation carries its code."""
from __future__ import annotations

from invite_common.messages import Verb

from approval.adapters.enrolment import DeviceEnrolment
from approval.models import InviteRequest
from approval.moves import SYSTEM, Moves
from approval.steps import invitation


def book_seed(request: InviteRequest, moves: Moves, enrolment: DeviceEnrolment, activation_url: str) -> None:
    """Book the invitee's device for SEED onboarding, then ask for the invitation with its code."""
    booked = enrolment.book(request.id, request.email, request.username or "")
    moves.move(request, Verb.REQUEST_SEED, actor=SYSTEM, details={"seed_expires_at": booked.expires_at.isoformat()})
    invitation.send_invitation(request, moves, enrolment, activation_url)

"""The invitation email: asked for, asked for again at the requester's wish, and its delivery recorded.

Only an invitation's delivery moves a request (`Template.INVITATIONS`); the delivery of a notice
(a rejection, an expiry, the requester's notice that the invitation is out, an approvers' digest)
changes none.
"""
from __future__ import annotations

import logging

from invite_common.messages import Decision, Envelope, State, Template, Verb

from approval import records, workflow
from approval.adapters.enrolment import DeviceEnrolment
from approval.models import InviteRequest
from approval.moves import Moves

log = logging.getLogger(__name__)

# the actor of the moves a delivery makes
NOTIFIER = "notifier"
FIRST_SEND = "invitation-1"


def needs_seed(request: InviteRequest) -> bool:
    """Say whether the request's invitee must be booked for SEED (its invitation then carries the code)."""
    return workflow.needs_seed(request.user_type, request.seed_onboarding, request.offshore)


def send_invitation(request: InviteRequest, moves: Moves, enrolment: DeviceEnrolment, activation_url: str) -> None:
    """Ask the notifier for the invitation email (with SEED instructions and code when SEED is needed)."""
    booked = None
    if needs_seed(request):
        # booking is idempotent per request: after book_seed, a resend or a retry, the same code
        booked = enrolment.book(request.id, request.email, request.username or "")
    request.invitation_sends += 1
    moves.changed(request)
    context = {
        "request_id": request.id,
        "recipient_name": " ".join(x for x in (request.first_name, request.last_name) if x),
        "username": request.username or "",
        "requester_email": request.requester,
        "activation_url": activation_url,
    }
    template = Template.INVITATION
    if booked is not None:
        template = Template.INVITATION_SEED
        context |= {"seed_code": booked.code, "seed_expires_at": booked.expires_at.isoformat()}
    moves.email(request, template, to=request.email, send_key=f"invitation-{request.invitation_sends}", context=context)


def resend(message: Envelope, moves: Moves, enrolment: DeviceEnrolment, activation_url: str) -> None:
    """Send an emailed invitation again at its requester's wish (the state stays `emailed`)."""
    p = message.payload
    request = records.load_for_update(p["request_id"])
    if request.state != State.EMAILED:
        moves.refuse(request.id, Decision.RESEND, p["actor"], f"cannot resend an invitation that is {request.state}")
        return
    if p["actor"].lower() != request.requester.lower():
        moves.refuse(request.id, Decision.RESEND, p["actor"], "only the requester can ask for a resend")
        return
    send_invitation(request, moves, enrolment, activation_url)


def record_email_sent(message: Envelope, moves: Moves, notify_requester_when_sent: bool) -> None:
    """An invitation went out: the request is done (or, sent again, shows as delivered again)."""
    p = message.payload
    if p["template"] not in Template.INVITATIONS:
        log.info("notice delivered", extra={"template": p["template"]})
        return
    request = records.load_for_update(p["request_id"])
    details = {"smtp_message_id": p["smtp_message_id"]}
    if request.state in (State.ACCOUNT_CREATED, State.SEED_REQUESTED):
        moves.move(request, Verb.MARK_EMAILED, actor=NOTIFIER, details=details)
        # the requester asked to hear of it by email (the portal tells them in any case)
        if notify_requester_when_sent:
            moves.email(request, Template.INVITATION_SENT_NOTICE, to=request.requester, send_key="sent",
                        context={"request_id": request.id, "invitee_email": request.email})
    elif request.state == State.EMAILED and p["send_key"] != FIRST_SEND:
        moves.move(request, Verb.RESEND, actor=NOTIFIER, details=details)


def record_email_failed(message: Envelope, moves: Moves) -> None:
    """An invitation could not be delivered: the request fails until an operator retries it."""
    p = message.payload
    if p["template"] not in Template.INVITATIONS:
        log.error("notice could not be delivered", extra={"template": p["template"], "error": p["error"]})
        return
    request = records.load_for_update(p["request_id"])
    if request.state in (State.ACCOUNT_CREATED, State.SEED_REQUESTED):
        moves.move(request, Verb.FAIL, actor=NOTIFIER, note=f"email not delivered: {p['error']}")

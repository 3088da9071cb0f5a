"""An administrator's reassignment of a waiting request (under /api/v1/invites/{id}/reassignment)."""
from __future__ import annotations

from intake.api.blueprint import Blueprint, requires
from intake.api.invites import INVITE_ID, InviteWithHistorySchema, dump_invite
from intake.approvals.delegation_schemas import ReassignmentSchema
from intake.auth import guards
from intake.auth.identity import current_caller
from intake.invites import service

blp = Blueprint("reassignments", __name__, url_prefix="/api/v1", description="Reassigning requests")

REASSIGNMENT_RULES = (
    "Gives the level the request waits in to one named person to decide, instead of the holders of its role, "
    "until the request leaves that level. The person must be a public officer whom separation of duties does not "
    "keep from the request (not its requester, not its invitee, not a decider of an earlier level): otherwise 422 "
    "naming `to`. An administrator who made the request, or whom it invites, is refused (403). The history "
    "records a `reassigned` entry with the reason as its note and details {to, level, role}.")


@blp.route("/invites/<string:invite_id>/reassignment", methods=["POST"], parameters=[INVITE_ID])
@requires(guards.ADMIN)
@blp.doc(description=REASSIGNMENT_RULES)
@blp.arguments(ReassignmentSchema)
@blp.response(200, InviteWithHistorySchema)
@blp.alt_response(409, description="The request is no longer waiting for a decision")
@blp.alt_response(422, description="A field is wrong: {\"errors\": {field: [message]}}")
def reassign(data, invite_id):
    """Give a waiting request to one person to decide (administrators)."""
    invite = service.reassign(invite_id, data["to"], data["reason"], current_caller())
    return dump_invite(invite)

"""Approvers' stand-ins (under /api/v1/delegations): name one for a period, see them, end one early."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from invite_common.db import utcnow

from intake.api.blueprint import Blueprint, requires
from intake.approvals import delegations
from intake.approvals.delegation_schemas import DelegationSchema, DelegationsSchema, StandInSchema
from intake.auth import guards
from intake.auth.identity import current_caller
from intake.db import database
from intake.models import Delegation
from intake.validation import patterns

blp = Blueprint("delegations", __name__, url_prefix="/api/v1/delegations", description="Approvers' stand-ins")

DELEGATION_ID = patterns.id_in_path("delegation_id")

NAMING_RULES = (
    "`stand_in` must be someone other than you who may hold your deciding roles (a public officer); `ends_at` "
    "comes after `starts_at`, is not in the past, and the period is at most 90 days long (a start in the past "
    "means now): otherwise 422 naming the field. While it runs, the requests waiting at your levels reach the "
    "stand-in too, and a decision they take there is recorded as theirs for you (`on_behalf_of`); separation of "
    "duties holds for both of you. A stand-in decides with the deciding roles you hold as you name them, never "
    "with roles delegated to you. Moments are ISO 8601 (UTC when no offset is given). Ending one early is "
    "`POST /api/v1/delegations/{delegation_id}/end` (a POST, as the stand-in is kept for the audit history).")


def dump(delegation: Delegation, now=None) -> dict:
    """A stand-in as DelegationSchema shows it."""
    return {"id": delegation.id, "approver": delegation.approver, "stand_in": delegation.stand_in,
            "roles": sorted(delegations.roles_of(delegation)), "starts_at": delegation.starts_at,
            "ends_at": delegation.ends_at, "created_at": delegation.created_at, "ended_at": delegation.ended_at,
            "ended_by": delegation.ended_by, "running": delegations.is_running(delegation, now or utcnow())}


@blp.route("")
class StandIns(MethodView):
    @requires(guards.REQUESTER)
    @blp.response(200, DelegationsSchema)
    def get(self):
        """Your stand-ins that have not ended, and the approvers you stand in for (now or to come)."""
        caller, now = current_caller(), utcnow()
        return {"stand_ins": [dump(d, now) for d in delegations.of_approver(caller.email, now)],
                "standing_in_for": [dump(d, now) for d in delegations.to_person(caller.email, now)]}

    @requires(guards.DECIDES)
    @blp.doc(description=NAMING_RULES)
    @blp.arguments(StandInSchema)
    @blp.response(201, DelegationSchema)
    @blp.alt_response(409, description="The period overlaps a stand-in you named already")
    @blp.alt_response(422, description="A field is wrong: {\"errors\": {field: [message]}}")
    def post(self, data):
        """Name a stand-in who decides your requests with you for a period."""
        caller = current_caller()
        with database.atomic():
            delegation = delegations.name_stand_in(
                caller.email, caller.roles, data["stand_in"], data["starts_at"], data["ends_at"],
                current_app.config["ORG_DOMAINS"])
        return dump(delegation), 201


@blp.route("/<string:delegation_id>/end", methods=["POST"], parameters=[DELEGATION_ID])
@requires(guards.STAND_IN_ENDING)
@blp.response(200, DelegationSchema)
@blp.alt_response(404, description="No such stand-in, or not one you named (an administrator may end any)")
@blp.alt_response(409, description="The stand-in has ended already")
def end(delegation_id):
    """End a stand-in now, before its period is over: yours, or anyone's as an administrator."""
    caller = current_caller()
    with database.atomic():
        delegation = delegations.end(delegation_id, caller.email, as_admin=caller.is_admin)
    return dump(delegation)

"""What naming a stand-in and reassigning a request take, as the API and the portal's forms read them alike."""
from __future__ import annotations

from marshmallow import Schema, fields

from intake.validation import patterns
from intake.validation.edge import EdgeSchema, text_rule
from intake.validation.fields import Moment, Rule
from intake.validation.rules import REASON_MAX_LENGTH, normalise_email


class StandInSchema(EdgeSchema):
    """A stand-in named by the approver: who, and from when to when (aware moments; UTC when no offset)."""

    stand_in = Rule(normalise_email, patterns.EMAIL, required=True,
                    error_messages={"required": "Enter the email address of your stand-in."})
    starts_at = Moment(required=True, error_messages={"required": "Enter when your stand-in starts."})
    ends_at = Moment(required=True, error_messages={"required": "Enter when your stand-in ends."})


class ReassignmentSchema(EdgeSchema):
    """An administrator's reassignment of a waiting request's level to one person, saying why."""

    to = Rule(normalise_email, patterns.EMAIL, required=True,
              error_messages={"required": "Enter the email address of the person who should decide this request."})
    reason = text_rule("Reason", REASON_MAX_LENGTH, multiline=True, required=True,
                       error_messages={"required": "Enter the reason for reassigning."})


class DelegationSchema(Schema):
    """A stand-in as the API shows it: `running` says whether it runs now."""

    id = fields.String()
    approver = fields.String(metadata={"description": "the approver who named the stand-in"})
    stand_in = fields.String()
    roles = fields.List(fields.String(), metadata={"description": "the approver's deciding roles the stand-in decides with"})
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    created_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True, metadata={"description": "when it was ended early; null otherwise"})
    ended_by = fields.String(allow_none=True)
    running = fields.Boolean()


class DelegationsSchema(Schema):
    stand_ins = fields.List(fields.Nested(DelegationSchema),
                            metadata={"description": "the stand-ins you named that have not ended, soonest first"})
    standing_in_for = fields.List(fields.Nested(DelegationSchema),
                                  metadata={"description": "the approvers you stand in for, now or to come"})

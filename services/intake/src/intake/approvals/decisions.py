"""The schemas of an approver's decisions, one or many at once, as the API and the portal's forms take them."""
from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from invite_common.messages import Decision

from intake.validation import patterns
from intake.validation.edge import EdgeSchema, is_given, text_rule
from intake.validation.fields import Rule
from intake.validation.problems import declare
from intake.validation.rules import REASON_MAX_LENGTH, clean_text
from intake.validation.shapes import Shape

# as many as the default decide limit lets through in one window, with room: a bulk of more could
# never pass RATE_LIMIT_DECIDE (120/minute), so the document would promise what the server refuses
MAX_BULK_DECISIONS = 100
# the messages a page words its own way (portal/forms.py), by their codes
BULK_SIZE = declare("decisions.count", f"Give between 1 and {MAX_BULK_DECISIONS} decisions.")
REJECTION_REASON = declare("reason.rejection", "Enter the reason for rejecting.")
DECISION_CHOICE = declare("decision.choice", "Choose the decision: approve or reject.")


class ApproveSchema(EdgeSchema):
    """An approval, with an optional comment."""

    comment = text_rule("Comment", REASON_MAX_LENGTH, multiline=True)

    @post_load
    def with_comment(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Return the decision with comment None when none was given."""
        return {"comment": data.get("comment")}


class RejectSchema(EdgeSchema):
    """A rejection, which always says why."""

    reason = text_rule(
        "Reason", REASON_MAX_LENGTH, multiline=True,
        required=True, error_messages={"required": REJECTION_REASON},
    )


class DecisionItemSchema(EdgeSchema):
    """One decision in a bulk decision: approve with an optional comment, or reject with a reason."""

    # any text is looked up (an unknown one is that item's 404); the document asks for a request's id
    id = Rule(partial(clean_text, field_label="Request id", max_length=64), patterns.UUID,
              required=True, error_messages={"required": "Give the request id."})
    decision = fields.String(
        required=True,
        validate=validate.OneOf(Decision.ALL, error=DECISION_CHOICE),
        error_messages={"required": DECISION_CHOICE, "invalid": DECISION_CHOICE},
    )
    comment = text_rule("Comment", REASON_MAX_LENGTH, multiline=True)
    reason = text_rule("Reason", REASON_MAX_LENGTH, multiline=True)

    # as check_decision_fields holds it
    shapes = (
        Shape("Approve", {"decision": [Decision.APPROVE]}, required=("id", "decision"), optional=("comment",)),
        Shape("Reject", {"decision": [Decision.REJECT]}, required=("id", "decision", "reason")),
    )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def check_decision_fields(self, data: dict[str, Any], original_data: Any, **kwargs: Any) -> None:
        """Require a reason to reject; refuse the other decision's field as the single calls do."""
        if not isinstance(original_data, Mapping):
            return
        errors: dict[str, list[str]] = {}
        if data.get("decision") == Decision.REJECT:
            if not is_given(original_data, "reason"):
                errors["reason"] = [REJECTION_REASON]
            if is_given(original_data, "comment"):
                errors["comment"] = ["A rejection takes a reason, not a comment."]
        if data.get("decision") == Decision.APPROVE and is_given(original_data, "reason"):
            errors["reason"] = ["An approval takes a comment, not a reason."]
        if errors:
            raise ValidationError(errors)

    @post_load
    def to_decision(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Return the decision with every key present."""
        return {
            "id": data["id"],
            "decision": data["decision"],
            "comment": data.get("comment"),
            "reason": data.get("reason"),
        }


class BulkDecisionSchema(EdgeSchema):
    """Up to 200 decisions taken at once, each on a different request."""

    decisions = fields.List(
        fields.Nested(DecisionItemSchema),
        required=True,
        validate=validate.Length(
            min=1, max=MAX_BULK_DECISIONS, error=BULK_SIZE
        ),
        error_messages={
            "required": "Give the list of decisions.",
            "invalid": "Give the decisions as a list.",
        },
        # a request decided twice is refused (check_each_request_once); the document can say as much of it
        metadata={"uniqueItems": True},
    )

    @validates_schema
    def check_each_request_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Refuse a request decided twice in one go: the second decision would contradict the first."""
        seen: set[str] = set()
        errors: dict[int, dict[str, list[str]]] = {}
        for index, item in enumerate(data.get("decisions", [])):
            if item["id"] in seen:
                errors[index] = {"id": ["This request already has a decision in this list."]}
            seen.add(item["id"])
        if errors:
            raise ValidationError({"decisions": errors})

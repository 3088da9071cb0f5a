"""The schema of a requester's bulk cancellation, as the API and the portal's forms take it."""
from __future__ import annotations

from functools import partial
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from intake.validation import patterns
from intake.validation.edge import EdgeSchema
from intake.validation.fields import Rule
from intake.validation.problems import declare
from intake.validation.rules import clean_text

# a whole page of the API's list (its largest `limit`) cancelled at once
MAX_BULK_CANCELLATIONS = 200
# the messages a page words its own way (portal/status.py), by their codes
CANCELLATIONS_COUNT = declare("cancellations.count", f"Give between 1 and {MAX_BULK_CANCELLATIONS} request ids.")
NAMED_TWICE = "This request is already in this list."


class BulkCancellationSchema(EdgeSchema):
    """Up to MAX_BULK_CANCELLATIONS of the caller's requests to cancel at once, each named once."""

    # any text is looked up (an unknown one is that item's 404); the document asks for a request's id
    ids = fields.List(
        Rule(partial(clean_text, field_label="Request id", max_length=64), patterns.UUID),
        required=True,
        validate=validate.Length(min=1, max=MAX_BULK_CANCELLATIONS, error=CANCELLATIONS_COUNT),
        error_messages={"required": "Give the list of request ids.", "invalid": "Give the request ids as a list."},
        # a request named twice is refused (check_each_request_once); the document can say as much of it
        metadata={"uniqueItems": True},
    )

    @validates_schema
    def check_each_request_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Refuse a request named twice: a list that does is not what its sender meant to send."""
        seen: set[str] = set()
        errors: dict[int, list[str]] = {}
        for index, invite_id in enumerate(data.get("ids", [])):
            if invite_id in seen:
                errors[index] = [NAMED_TWICE]
            seen.add(invite_id)
        if errors:
            raise ValidationError({"ids": errors})

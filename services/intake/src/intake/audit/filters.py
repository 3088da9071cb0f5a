"""The auditor's filters: what they narrow a search to, and how both front doors read them
(GET /api/v1/audit/events and the exports, and the Audit history page)."""
from __future__ import annotations

import dataclasses
import datetime as dt

from marshmallow import Schema, fields, validate

from invite_common.messages import Method

from intake import lifecycle
from intake.validation import patterns
from intake.validation.fields import Moment, Rule
from intake.validation.problems import CHOICE, TOO_LONG
from intake.validation.rules import normalise_email


@dataclasses.dataclass(frozen=True)
class Filters:
    """The auditor's filters; empty values filter nothing."""

    requester: str = ""
    email: str = ""
    approver: str = ""
    state: str = ""
    method: str = ""
    batch: str = ""
    request_id: str = ""
    person: str = ""
    from_: dt.datetime | None = None
    to: dt.datetime | None = None

    @classmethod
    def of(cls, values: dict) -> "Filters":
        """The filters a schema loaded (FilterArgs), empty ones left out."""
        return given(cls, values)


def given(filters_class, values: dict):
    """An instance of a dataclass of filters from what its schema loaded: the fields it has, empty ones left out."""
    names = {f.name for f in dataclasses.fields(filters_class)}
    return filters_class(**{k: v for k, v in values.items() if k in names and v not in (None, "")})


def person_field() -> Rule:
    """The `person` filter: a whole email address (a field a schema of its own, since schemas bind their fields)."""
    return Rule(normalise_email, patterns.EMAIL, metadata={
        "description": "everything this address did or was party to: requests they asked for or that invite "
                       "them, events they acted in, and role changes they made or that were about them"})


class FilterArgs(Schema):
    """The filters as a query string gives them; the API's moments (`from`, `to`) are days on the page."""

    requester = fields.String(validate=validate.Length(max=254, error=TOO_LONG))
    email = fields.String(validate=validate.Length(max=254, error=TOO_LONG))
    approver = fields.String(validate=validate.Length(max=254, error=TOO_LONG))
    state = fields.String(validate=validate.OneOf(lifecycle.STATES, error=CHOICE))
    method = fields.String(validate=validate.OneOf(Method.ALL, error=CHOICE))
    batch = fields.String(validate=validate.Length(max=36, error=TOO_LONG), metadata=patterns.UUID)
    request_id = fields.String(validate=validate.Length(max=36, error=TOO_LONG), metadata=patterns.UUID)
    person = person_field()
    from_ = Moment(data_key="from")
    to = Moment()

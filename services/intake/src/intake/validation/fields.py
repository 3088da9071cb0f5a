"""marshmallow fields for intake's rules: text checked by one of them, documented by its pattern; a moment UTC can hold."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import fields

from intake.validation.rules import check_moment


class Rule(fields.String):
    """A text field whose value is checked and normalised by one of intake's validation rules,
    documented by the pattern and lengths of that rule."""

    def __init__(self, rule: Callable[[object], Any], documented: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(metadata={**documented, **kwargs.pop("metadata", {})}, **kwargs)
        self.rule = rule

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        return self.rule(value)


class Moment(fields.AwareDateTime):
    """An ISO-8601 date and time (UTC when no offset is given), refused when UTC cannot hold it."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=dt.timezone.utc, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return check_moment(super()._deserialize(value, attr, data, **kwargs))

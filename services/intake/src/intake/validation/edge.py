"""What every schema reading user input shares: unknown fields refused, blank values absent, free text by its rule."""
from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from marshmallow import RAISE, Schema, pre_load

from intake.validation import patterns
from intake.validation.fields import Rule
from intake.validation.rules import clean_text


def is_given(data: Mapping[str, Any], name: str) -> bool:
    """Tell whether a field carries a value: null and blank text count as not given."""
    value = data.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def text_rule(label: str, max_length: int, *, multiline: bool = False, **kwargs: Any) -> Rule:
    """Free text, as clean_text takes it (line breaks only where the page has a text box)."""
    rule = partial(clean_text, field_label=label, max_length=max_length, allow_newlines=multiline)
    return Rule(rule, patterns.text(max_length, multiline=multiline), **kwargs)


class EdgeSchema(Schema):
    """Base of every schema that reads user input: unknown fields refused, blank values absent."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "This field is not accepted; remove it."}

    @pre_load
    def drop_blank_values(self, data: Any, **kwargs: Any) -> Any:
        """Treat null and blank text as not given, so form posts and CSV rows read like JSON."""
        if not isinstance(data, Mapping):
            return data
        # Unknown keys stay, even blank, so they are still refused by name.
        return {k: v for k, v in data.items() if k not in self.fields or is_given(data, k)}

"""The API document's patterns against intake's field rules: a value a pattern admits passes its
rule, and what the rules refuse as hidden, blank or too long is outside the pattern too.

Values are drawn from each pattern and judged by the validator schemathesis uses (jsonschema-rs),
as a client reading the document would judge them.
"""
from functools import partial

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from intake.validation import patterns
from intake.validation.problems import code_of
from intake.validation.rules import PHONE_PROBLEMS, clean_text, normalise_email, normalise_phone, normalise_username

# whether a number is in use (its digits, its first digit, its country code) no pattern can say
PHONE_PROBLEM_CODES = {problem.code for problem in PHONE_PROBLEMS.values()}

RULES = {
    "one line of text": (patterns.text(100), partial(clean_text, field_label="Name", max_length=100)),
    "text box": (patterns.text(1000, multiline=True),
                 partial(clean_text, field_label="Reason", max_length=1000, allow_newlines=True)),
    "email address": (patterns.EMAIL, normalise_email),
    "username": (patterns.USERNAME, normalise_username),
    "contact number": (patterns.PHONE, normalise_phone),
}


def admits(documented: dict, value: str) -> bool:
    keywords = {k: v for k, v in documented.items() if k in ("pattern", "minLength", "maxLength")}
    return jsonschema_rs.validator_for({"type": "string", **keywords}).is_valid(value)


@pytest.mark.parametrize("name", RULES)
def test_every_value_a_documented_pattern_admits_passes_its_rule(name):
    documented, rule = RULES[name]

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(value=st.from_regex(documented["pattern"]))
    def passes(value):
        if not admits(documented, value):
            return
        try:
            rule(value)
        except ValidationError as refusal:
            # whether a number is in use no pattern can say: the operation states it in words
            assert rule is normalise_phone and code_of(refusal.messages[0]) in PHONE_PROBLEM_CODES, (value, refusal.messages)

    passes()


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize("value", [
    "bell\x07", "tab\tinside", "nul\x00", "right-to-left \u202eoverride", "zero\u200bwidth", "byte order mark \ufeff",
    "line\u2028separator", "tag \U000e0041", "   ", "\u3000", "x" * 1001,
], ids=ascii)
def test_text_the_rules_refuse_is_outside_the_documented_pattern(value, multiline):
    with pytest.raises(ValidationError):
        clean_text(value, field_label="Reason", max_length=1000, allow_newlines=multiline)
    assert not admits(patterns.text(1000, multiline=multiline), value)


@pytest.mark.parametrize("value", ["Ravi", "Two lines\nof it", "Two lines\r\nfrom a browser", "தமிழ்\u200d", "x" * 1000])
def test_a_text_box_admits_line_breaks_and_joiners_as_its_rule_does(value):
    assert clean_text(value, field_label="Reason", max_length=1000, allow_newlines=True)
    assert admits(patterns.text(1000, multiline=True), value)

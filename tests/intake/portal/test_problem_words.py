"""The portal words the schemas' problems by their codes, so a schema's message can change its words
(or a number in it) without the page falling back to the API's wording."""
from __future__ import annotations

import copy
import json

import pytest
from marshmallow import ValidationError

from intake.batches.validation import ALSO_ON_ROWS, YES_OR_NO, describe_duplicates
from intake.approvals.decisions import BulkDecisionSchema, RejectSchema
from intake.invites.schemas import USER_TYPE_CHOICE, InviteRequestSchema
from intake.portal import forms
from intake.validation.problems import DECLARED, Problem, code_of

# an input each schema refuses with the problem of that code, and the field it names
REFUSED = {
    "method.choice": (InviteRequestSchema, {"method": "fax", "email": "x@tech.gov.sg", "reason": "r"}, "method"),
    "user_type.choice": (InviteRequestSchema, {"method": "create_account", "user_type": "boss", "email": "x@tech.gov.sg",
                                               "reason": "r"}, "user_type"),
    "reason.rejection": (RejectSchema, {}, "reason"),
    "decisions.count": (BulkDecisionSchema, {"decisions": []}, "decisions"),
    "decision.choice": (BulkDecisionSchema, {"decisions": [{"id": "a", "decision": "maybe"}]}, "decisions"),
}


def messages_of(errors):
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in messages_of(value)]
    return [m for m in errors if isinstance(m, str)] + [m for e in errors if isinstance(e, dict) for m in messages_of(e)]


def test_every_code_the_portal_words_is_one_the_schemas_declare():
    worded = set(forms.PLAIN_WORDS) | set(forms.BULK_WORDS) | {YES_OR_NO.code, ALSO_ON_ROWS.code}
    assert worded <= set(DECLARED), worded - set(DECLARED)
    assert set(forms.PLAIN_WORDS) | set(forms.BULK_WORDS) == set(REFUSED)


@pytest.mark.parametrize("code", sorted(REFUSED))
def test_the_schemas_refuse_with_the_code_the_portal_words(code):
    schema, data, field = REFUSED[code]
    with pytest.raises(ValidationError) as refused:
        schema().load(data)
    found = messages_of(refused.value.messages[field] if isinstance(refused.value.messages, dict) else [])
    assert code in {code_of(m) for m in found}, found
    # the API still says the schema's own words: the code travels with the message, not in the body
    assert json.loads(json.dumps(refused.value.messages))[field]


def test_a_problem_the_schema_words_anew_keeps_its_words_on_the_page():
    # the bulk form's size message once changed its number and the page fell back to the API's words
    renumbered = Problem("decisions.count", "Give between 1 and 7 decisions.")
    assert forms.bulk_decision_errors({"decisions": [renumbered]}) == {"ids": ["Select at least one request to decide on."]}
    reworded = Problem("user_type.choice", "Say which kind of user this is.")
    assert forms.plain_errors({"user_type": [reworded]}) == {
        "user_type": ["Choose whether the person is a public officer or a vendor."]}


def test_a_batch_rows_problems_keep_their_codes_once_stored_and_read_back():
    stored = json.loads(json.dumps({"seed_onboarding": [YES_OR_NO], "user_type": [USER_TYPE_CHOICE]}))
    assert forms.row_errors(stored | describe_duplicates({"email": [3, 7]})) == {
        "seed_onboarding": ["Say whether SEED onboarding is required: yes or no."],
        "user_type": ["Choose whether the person is a public officer or a vendor."],
        "email": ["The same email address is also on rows 3 and 7."],
    }


def test_a_problem_copies_and_formats_with_its_code():
    copied = copy.deepcopy(Problem("x.y", "Up to {n}."))
    assert (copied.code, copied) == ("x.y", "Up to {n}.")
    assert code_of(copied.format(n=3)) == "x.y" and copied.format(n=3) == "Up to 3."

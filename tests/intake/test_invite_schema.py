"""Unit tests of the invite request, invite and decision schemas: per-field errors and normalised output."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from intake.approvals.decisions import ApproveSchema, BulkDecisionSchema, DecisionItemSchema, RejectSchema
from intake.invites.schemas import InviteRequestSchema, InviteSchema

OUTPUT_KEYS = {
    "method", "email", "user_type", "username", "first_name", "last_name", "contact_number",
    "organisation", "department", "seed_onboarding", "offshore", "reason", "repeats",
}


def email_invitation(**changes):
    body = {
        "method": "email_invitation",
        "email": "jane_tan@tech.gov.sg",
        "seed_onboarding": False,
        "reason": "Joining the platform team",
    }
    body.update(changes)
    return body


def officer_account(**changes):
    body = {
        "method": "create_account",
        "email": "jane_tan@tech.gov.sg",
        "user_type": "public_officer",
        "first_name": "Jane",
        "last_name": "Tan",
        "contact_number": "9123 4567",
        "organisation": "GovTech",
        "department": "Platforms",
        "seed_onboarding": True,
        "reason": "Joining the platform team",
    }
    body.update(changes)
    return body


def vendor_account(**changes):
    body = officer_account(
        email="ali@acme.example.com",
        user_type="vendor",
        username="V-Ali.Acme",
        organisation="Acme Pte Ltd",
        seed_onboarding=False,
    )
    body.update(changes)
    return body


@pytest.fixture
def schema():
    return InviteRequestSchema(org_domains=("gov.sg",))


def errors_of(schema, body) -> dict:
    """Return the errors loading body gives; fails the test if it loads."""
    with pytest.raises(ValidationError) as caught:
        schema.load(body)
    return caught.value.messages


def only_error(schema, body, field) -> list[str]:
    """Return the messages on field, asserting it is the only field in error."""
    errors = errors_of(schema, body)
    assert set(errors) == {field}, errors
    return errors[field]


# --- what valid requests become ---------------------------------------------------------


def test_email_invitation_is_normalised_and_implies_a_public_officer(schema):
    loaded = schema.load(email_invitation(email="  Jane_Tan@Tech.GOV.sg ", reason=" Needs access\r\nsoon "))
    assert loaded == {
        "method": "email_invitation",
        "email": "jane_tan@tech.gov.sg",
        "user_type": "public_officer",
        "username": None,
        "first_name": None,
        "last_name": None,
        "contact_number": None,
        "organisation": None,
        "department": None,
        "seed_onboarding": False,
        "offshore": False,
        "reason": "Needs access\nsoon",
        "repeats": None,
    }


def test_officer_account_is_normalised(schema):
    loaded = schema.load(officer_account(first_name="  Jane ", contact_number="6123-4567"))
    assert loaded == {
        "method": "create_account",
        "email": "jane_tan@tech.gov.sg",
        "user_type": "public_officer",
        "username": None,
        "first_name": "Jane",
        "last_name": "Tan",
        "contact_number": "+6561234567",
        "organisation": "GovTech",
        "department": "Platforms",
        "seed_onboarding": True,
        "offshore": False,
        "reason": "Joining the platform team",
        "repeats": None,
    }


def test_vendor_account_keeps_the_username_case_and_trims_it(schema):
    loaded = schema.load(vendor_account(username="  V-Ali.Acme ", contact_number="+44 20 7946 0958"))
    assert loaded["username"] == "V-Ali.Acme"
    assert loaded["contact_number"] == "+442079460958"
    assert loaded["user_type"] == "vendor"
    assert loaded["offshore"] is False
    assert loaded["seed_onboarding"] is False


@pytest.mark.parametrize(
    "body",
    [email_invitation(), officer_account(), vendor_account(), vendor_account(offshore=True, seed_onboarding=True)],
    ids=["email_invitation", "officer_account", "vendor_account", "offshore_vendor"],
)
def test_every_loaded_request_has_the_same_keys(schema, body):
    assert set(schema.load(body)) == OUTPUT_KEYS


def test_vendor_email_domain_may_be_internationalised(schema):
    assert schema.load(vendor_account(email="ali@bücher.de"))["email"] == "ali@xn--bcher-kva.de"


def test_optional_department_may_be_left_out_or_blank(schema):
    body = officer_account()
    del body["department"]
    assert schema.load(body)["department"] is None
    assert schema.load(officer_account(department="   "))["department"] is None
    assert schema.load(officer_account(department=None))["department"] is None


@pytest.mark.parametrize(("given", "expected"), [("yes", True), ("no", False), ("true", True), ("FALSE", False),
                                                 ("on", True), ("1", True), ("0", False), (1, True), (0, False)])
def test_seed_onboarding_accepts_the_yes_and_no_forms_of_portal_and_csv(schema, given, expected):
    assert schema.load(email_invitation(seed_onboarding=given))["seed_onboarding"] is expected


def test_blank_cells_of_a_batch_row_count_as_not_given(schema):
    row = {
        "method": "email_invitation", "email": "jane_tan@tech.gov.sg", "user_type": "", "username": "",
        "first_name": "", "last_name": " ", "contact_number": "", "organisation": "", "department": "",
        "seed_onboarding": "no", "offshore": "", "reason": "Joining the platform team",
    }
    assert schema.load(row)["user_type"] == "public_officer"


# --- offshore vendors ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", [True, "yes", None], ids=["true", "yes", "not_given"])
def test_offshore_vendor_always_gets_seed_onboarding(schema, seed):
    body = vendor_account(offshore=True, seed_onboarding=seed)
    if seed is None:
        del body["seed_onboarding"]
    loaded = schema.load(body)
    assert loaded["offshore"] is True
    assert loaded["seed_onboarding"] is True


@pytest.mark.parametrize("seed", [False, "no", "false"])
def test_offshore_vendor_refusing_seed_is_an_error_on_seed_onboarding(schema, seed):
    messages = only_error(schema, vendor_account(offshore=True, seed_onboarding=seed), "seed_onboarding")
    assert messages == ["Offshore vendors always need SEED onboarding."]


def test_onshore_vendor_still_has_to_say_whether_seed_is_needed(schema):
    body = vendor_account(offshore=False)
    del body["seed_onboarding"]
    only_error(schema, body, "seed_onboarding")


def test_officer_cannot_be_offshore(schema):
    assert only_error(schema, officer_account(offshore=True), "offshore") == ["Only vendors can be offshore."]


def test_officer_may_say_not_offshore(schema):
    assert schema.load(officer_account(offshore=False))["offshore"] is False


def test_offshore_must_be_yes_or_no(schema):
    only_error(schema, vendor_account(offshore="perhaps"), "offshore")


# --- method and user type rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_type", "public_officer"),
        ("user_type", "vendor"),
        ("username", "jane.tan"),
        ("first_name", "Jane"),
        ("last_name", "Tan"),
        ("contact_number", "9123 4567"),
        ("organisation", "GovTech"),
        ("department", "Platforms"),
        ("offshore", True),
        ("offshore", False),
    ],
)
def test_email_invitation_refuses_each_create_account_field(schema, field, value):
    messages = only_error(schema, email_invitation(**{field: value}), field)
    assert "email invitation" in messages[0]


def test_email_invitation_reports_every_create_account_field_given(schema):
    errors = errors_of(schema, email_invitation(first_name="Jane", username="x.y.z", offshore=True))
    assert set(errors) == {"first_name", "username", "offshore"}


@pytest.mark.parametrize("field", ["email", "seed_onboarding", "reason"])
def test_email_invitation_requires_its_three_fields(schema, field):
    body = email_invitation()
    del body[field]
    only_error(schema, body, field)


@pytest.mark.parametrize(
    "email",
    [
        "ali@acme.example.com",
        "jane@evilgov.sg",
        "jane@gov.sg.evil.com",
        "jane@gov.ѕg",
        "jane@gоv.sg",
        "jane@xn--gv-fmc.sg",  # the Cyrillic-o look-alike, already encoded
    ],
)
def test_email_invitation_refuses_an_address_outside_the_org_domains(schema, email):
    messages = only_error(schema, email_invitation(email=email), "email")
    assert messages == ["An email invitation needs a public officer address ending in gov.sg. "
                        "A vendor is invited with create_account instead."]


@pytest.mark.parametrize("email", ["jane@gov．sg", "jane@tech.gov。sg"])
def test_email_invitation_refuses_a_look_alike_dot_in_the_domain(schema, email):
    assert "looks like a dot" in only_error(schema, email_invitation(email=email), "email")[0]


@pytest.mark.parametrize("email", ["jane@gov.sg", "jane@tech.gov.sg", "JANE@HQ.MOF.GOV.SG"])
def test_email_invitation_accepts_an_org_domain_and_its_subdomains(schema, email):
    assert schema.load(email_invitation(email=email))["email"] == email.lower()


def test_org_domains_come_from_the_constructor():
    schema = InviteRequestSchema(org_domains=("agency.example.sg",))
    assert schema.load(email_invitation(email="x@hq.agency.example.sg"))["email"] == "x@hq.agency.example.sg"
    messages = only_error(schema, email_invitation(), "email")
    assert messages == ["An email invitation needs a public officer address ending in agency.example.sg. "
                        "A vendor is invited with create_account instead."]


def test_org_domains_default_to_gov_sg():
    assert InviteRequestSchema().org_domains == ("gov.sg",)


def test_org_domains_given_as_one_string_is_a_programming_error():
    with pytest.raises(TypeError):
        InviteRequestSchema(org_domains="gov.sg")


@pytest.mark.parametrize(
    "field", ["user_type", "first_name", "last_name", "contact_number", "organisation", "seed_onboarding",
              "email", "reason"],
)
def test_create_account_requires_each_field(schema, field):
    body = officer_account()
    del body[field]
    only_error(schema, body, field)


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_create_account_treats_a_blank_required_field_as_missing(schema, blank):
    assert only_error(schema, officer_account(first_name=blank), "first_name") == ["First name is required."]


def test_vendor_requires_a_username(schema):
    body = vendor_account()
    del body["username"]
    assert only_error(schema, body, "username") == ["Enter the vendor's TechPass username."]


def test_officer_username_is_refused_because_it_comes_from_the_email(schema):
    messages = only_error(schema, officer_account(username="jane.tan"), "username")
    assert "is derived from the email for public officers" in messages[0]


def test_officer_account_needs_a_public_officer_address(schema):
    messages = only_error(schema, officer_account(email="jane@acme.example.com"), "email")
    assert "public officer address" in messages[0]


def test_vendor_may_use_any_valid_address(schema):
    assert schema.load(vendor_account(email="ali@gmail.com"))["email"] == "ali@gmail.com"


@pytest.mark.parametrize("method", ["invite", "EMAIL_INVITATION", "", None, 1, ["create_account"]])
def test_method_must_be_one_of_the_two(schema, method):
    body = officer_account(method=method)
    errors = errors_of(schema, body)
    assert set(errors) == {"method"}


def test_missing_method_reports_only_the_method(schema):
    body = officer_account()
    del body["method"]
    assert set(errors_of(schema, body)) == {"method"}


@pytest.mark.parametrize("user_type", ["admin", "Vendor", "officer", 1])
def test_user_type_must_be_one_of_the_two(schema, user_type):
    only_error(schema, officer_account(user_type=user_type), "user_type")


# --- each field's own rule, keyed on that field ------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "jane_tan@tech.gov.sg\r\nBcc: x@evil.com"),
        ("email", "jane_tan@tech.gov.sg\nBcc: x@evil.com"),
        ("email", "=?utf-8?q?jane?=@tech.gov.sg"),
        ("email", "Jane Tan <jane_tan@tech.gov.sg>"),
        ("email", '"jane"@tech.gov.sg'),
        ("email", "jane@tech.gov.sg."),
        ("email", "jane@tech..gov.sg"),
        ("email", "jane@@tech.gov.sg"),
        ("email", "jane tan@tech.gov.sg"),
        ("email", "a" * 250 + "@gov.sg"),
        ("email", 42),
        ("first_name", "Jane\r\nTan"),
        ("first_name", "Jane\u202eTan"),
        ("first_name", "J" * 101),
        ("last_name", "Tan\x00"),
        ("last_name", "T" * 101),
        ("organisation", "Gov\tTech"),
        ("organisation", "O" * 151),
        ("department", "D" * 151),
        ("department", "Platforms\u2028"),
        ("contact_number", "1234 5678"),
        ("contact_number", "9123 4567 ext 1"),
        ("contact_number", 91234567),
        ("reason", "R" * 1001),
        ("reason", "Needs\taccess"),
        ("reason", "Needs\x00access"),
        ("reason", "Needs \u2066access\u2069"),
        ("seed_onboarding", "maybe"),
        ("seed_onboarding", [True]),
    ],
)
def test_bad_field_value_is_an_error_on_that_field(schema, field, value):
    only_error(schema, officer_account(**{field: value}), field)


@pytest.mark.parametrize(
    "username",
    [".abc", "abc.", "a..b", "ab", "a" * 65, "ali@acme", "ali\nacme", "ali\u200bacme", "ａｌｉ"],
)
def test_bad_vendor_username_is_an_error_on_username(schema, username):
    only_error(schema, vendor_account(username=username), "username")


@pytest.mark.parametrize("username", ["v-a_b c-d.e", "v-a", "v-" + "a" * 62, "V-Ali.Acme"])
def test_good_vendor_username_is_accepted(schema, username):
    assert schema.load(vendor_account(username=username))["username"] == username


def test_long_texts_at_their_limits_are_accepted(schema):
    loaded = schema.load(officer_account(
        first_name="F" * 100, last_name="L" * 100, organisation="O" * 150, department="D" * 150, reason="R" * 1000,
    ))
    assert len(loaded["reason"]) == 1000


def test_field_errors_and_method_rules_are_reported_together_without_duplicates(schema):
    errors = errors_of(schema, vendor_account(first_name="J" * 101, username="a..b", last_name="", offshore=True,
                                              seed_onboarding=False, extra="x"))
    assert set(errors) == {"first_name", "username", "last_name", "seed_onboarding", "extra"}
    assert all(len(messages) == 1 for messages in errors.values())


def test_error_messages_do_not_repeat_what_was_typed(schema):
    errors = errors_of(schema, officer_account(email="jane@tech.gov.sg\r\nBcc: spy@evil.com",
                                               first_name="Jane\r\nBcc: spy@evil.com"))
    assert "evil" not in repr(errors)


def test_errors_are_lists_of_messages_keyed_by_field(schema):
    errors = errors_of(schema, officer_account(first_name="", contact_number="12", extra=1))
    assert set(errors) == {"first_name", "contact_number", "extra"}
    for messages in errors.values():
        assert isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages)


# --- unknown fields and input shape ----------------------------------------------------


@pytest.mark.parametrize("field", ["id", "state", "requester", "Email", "is_admin", "bcc", "seed", "history"])
def test_unknown_field_is_refused_by_name(schema, field):
    assert only_error(schema, officer_account(**{field: "x"}), field) == ["This field is not accepted; remove it."]


@pytest.mark.parametrize("value", ["", None, False])
def test_unknown_field_is_refused_even_when_blank(schema, value):
    only_error(schema, email_invitation(surprise=value), "surprise")


@pytest.mark.parametrize("body", [None, [], ["email_invitation"], "method=create_account", 42])
def test_a_body_that_is_not_an_object_is_refused(schema, body):
    assert set(errors_of(schema, body)) == {"_schema"}


# --- dumping invites -------------------------------------------------------------------


def test_invite_schema_dumps_every_field_of_an_invite():
    invite_id = uuid.uuid4()
    created = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    invite = {
        "id": invite_id, "method": "create_account", "email": "ali@acme.example.com", "user_type": "vendor",
        "username": "V-Ali.Acme", "first_name": "Ali", "last_name": "Bin Abu", "contact_number": "+6591234567",
        "organisation": "Acme", "department": None, "seed_onboarding": True, "offshore": True,
        "reason": "Vendor support", "requester": "jane_tan@tech.gov.sg", "state": "submitted",
        "created_at": created, "updated_at": created, "secret": "not shown",
    }
    dumped = InviteSchema().dump(invite)
    # the request a new one repeats is named by its history (the submission's details), not by a field
    assert set(dumped) == OUTPUT_KEYS - {"repeats"} | {"id", "requester", "state", "created_at", "updated_at"}
    assert dumped["id"] == str(invite_id)
    assert dumped["created_at"] == "2025-01-02T03:04:05+00:00"
    assert dumped["department"] is None
    assert dumped["offshore"] is True


# --- decisions -------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [
    ({}, {"comment": None}),
    ({"comment": None}, {"comment": None}),
    ({"comment": "  "}, {"comment": None}),
    ({"comment": " Looks right\r\nApproved "}, {"comment": "Looks right\nApproved"}),
    ({"comment": "C" * 1000}, {"comment": "C" * 1000}),
])
def test_approval_comment_is_optional_and_cleaned(body, expected):
    assert ApproveSchema().load(body) == expected


@pytest.mark.parametrize(("body", "field"), [
    ({"comment": "C" * 1001}, "comment"),
    ({"comment": "ok\x00"}, "comment"),
    ({"comment": "ok\u202e"}, "comment"),
    ({"comment": 5}, "comment"),
    ({"reason": "why"}, "reason"),
    ({"decision": "approve"}, "decision"),
])
def test_approval_refuses_bad_comments_and_unknown_fields(body, field):
    only_error(ApproveSchema(), body, field)


def test_rejection_reason_is_cleaned():
    assert RejectSchema().load({"reason": " Not needed\r\nany more "}) == {"reason": "Not needed\nany more"}


@pytest.mark.parametrize(("body", "field"), [
    ({}, "reason"),
    ({"reason": ""}, "reason"),
    ({"reason": "   "}, "reason"),
    ({"reason": None}, "reason"),
    ({"reason": "R" * 1001}, "reason"),
    ({"reason": "no\ttabs"}, "reason"),
    ({"reason": "ok", "comment": "extra"}, "comment"),
])
def test_rejection_requires_a_real_reason_and_refuses_unknown_fields(body, field):
    only_error(RejectSchema(), body, field)


def test_bulk_decisions_load_with_every_key_present():
    loaded = BulkDecisionSchema().load({"decisions": [
        {"id": "a1", "decision": "approve", "comment": "Fine"},
        {"id": "b2", "decision": "reject", "reason": "Duplicate request"},
        {"id": "c3", "decision": "approve", "comment": "", "reason": None},
    ]})
    assert loaded == {"decisions": [
        {"id": "a1", "decision": "approve", "comment": "Fine", "reason": None},
        {"id": "b2", "decision": "reject", "comment": None, "reason": "Duplicate request"},
        {"id": "c3", "decision": "approve", "comment": None, "reason": None},
    ]}


def test_bulk_decisions_accept_a_hundred_items():
    items = [{"id": f"r{i}", "decision": "approve"} for i in range(100)]
    assert len(BulkDecisionSchema().load({"decisions": items})["decisions"]) == 100


@pytest.mark.parametrize("decisions", [[], [{"id": f"r{i}", "decision": "approve"} for i in range(101)]],
                         ids=["none", "101"])
def test_bulk_decisions_need_between_one_and_a_hundred_items(decisions):
    assert only_error(BulkDecisionSchema(), {"decisions": decisions}, "decisions") == [
        "Give between 1 and 100 decisions."
    ]


@pytest.mark.parametrize("body", [{}, {"decisions": None}, {"decisions": "approve all"},
                                  {"decisions": {"id": "a", "decision": "approve"}}])
def test_bulk_decisions_must_be_a_list(body):
    only_error(BulkDecisionSchema(), body, "decisions")


def test_bulk_decisions_refuse_unknown_top_level_fields():
    only_error(BulkDecisionSchema(), {"decisions": [{"id": "a", "decision": "approve"}], "all": True}, "all")


@pytest.mark.parametrize(("item", "field"), [
    ({"id": "a", "decision": "reject"}, "reason"),
    ({"id": "a", "decision": "reject", "reason": "  "}, "reason"),
    ({"id": "a", "decision": "reject", "reason": "No", "comment": "and"}, "comment"),
    ({"id": "a", "decision": "approve", "reason": "Yes"}, "reason"),
    ({"id": "a", "decision": "maybe"}, "decision"),
    ({"id": "a"}, "decision"),
    ({"decision": "approve"}, "id"),
    ({"id": "", "decision": "approve"}, "id"),
    ({"id": "a\r\nb", "decision": "approve"}, "id"),
    ({"id": "a" * 65, "decision": "approve"}, "id"),
    ({"id": "a", "decision": "approve", "comment": "C" * 1001}, "comment"),
    ({"id": "a", "decision": "approve", "state": "approved"}, "state"),
])
def test_bulk_decision_item_errors_are_keyed_by_position_and_field(item, field):
    body = {"decisions": [{"id": "ok", "decision": "approve"}, item]}
    errors = only_error(BulkDecisionSchema(), body, "decisions")
    assert set(errors) == {1}
    assert set(errors[1]) == {field}


def test_bulk_decisions_refuse_the_same_request_twice():
    body = {"decisions": [{"id": "a", "decision": "approve"}, {"id": "b", "decision": "approve"},
                          {"id": "a", "decision": "reject", "reason": "Changed my mind"}]}
    errors = only_error(BulkDecisionSchema(), body, "decisions")
    assert errors == {2: {"id": ["This request already has a decision in this list."]}}


def test_one_decision_item_can_be_checked_alone_for_a_per_item_result():
    assert DecisionItemSchema().validate({"id": "a", "decision": "reject"}) == {
        "reason": ["Enter the reason for rejecting."]
    }

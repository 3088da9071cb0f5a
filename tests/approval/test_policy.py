"""Auto-approval rules read from a TOML or JSON file: what they match, and files that are refused."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from approval.bootstrap import build_dependencies
from invite_common.approval_policy import DEFAULT_LEVEL, NO_POLICY, PolicyError, load, parse
from approval import settings as approval_settings
from tests.support.policies import EXAMPLE as EXAMPLE_TOML


def request(**changes):
    fields = {"method": "email_invitation", "user_type": "public_officer", "seed_onboarding": False, "offshore": False,
              "email": "jane@tech.gov.sg", "requester": "amy@tech.gov.sg"}
    return SimpleNamespace(**(fields | changes))


RULES = {"rules": [
    {"name": "Own agency officers", "method": ["email_invitation"], "invitee_in_requester_domain": True,
     "seed_onboarding": False},
    {"name": "Partner vendors onshore", "user_type": ["vendor"], "offshore": False, "invitee_domains": ["partner.example.com"]},
]}


def test_the_first_rule_whose_every_condition_holds_approves():
    policy = parse(json.dumps(RULES), suffix=".json")
    assert policy.first_match(request()).name == "Own agency officers"
    assert policy.first_match(request(seed_onboarding=True)) is None
    assert policy.first_match(request(email="ken@hdb.gov.sg")) is None
    vendor = request(method="create_account", user_type="vendor", email="vic@dev.partner.example.com")
    assert policy.first_match(vendor).name == "Partner vendors onshore"
    assert policy.first_match(vendor.__class__(**(vendor.__dict__ | {"offshore": True}))) is None
    assert policy.first_match(request(method="create_account", user_type="vendor", email="vic@evilpartner.example.com")) is None


def test_toml_and_json_say_the_same(tmp_path):
    toml = tmp_path / "policy.toml"
    toml.write_text('[[rules]]\nname = "Own agency officers"\nmethod = ["email_invitation"]\ninvitee_in_requester_domain = true\n')
    assert load(str(toml)).first_match(request()).name == "Own agency officers"
    assert load("") is NO_POLICY


@pytest.mark.parametrize("text,problem", [
    ('{"rules": [{"name": "everything"}]}', "no condition"),
    ('{"rules": [{"name": "x", "method": ["fax"]}]}', "method"),
    ('{"rules": [{"name": "x", "approve_all": true}]}', "approve_all"),
    ('{"rules": [{"name": "a", "offshore": false}, {"name": "a", "offshore": true}]}', "two rules"),
    ('{"rules": ', "not valid JSON"),
])
def test_a_policy_that_cannot_be_applied_as_written_is_refused(text, problem):
    with pytest.raises(PolicyError, match=problem):
        parse(text, suffix=".json")


def test_the_service_refuses_to_start_with_a_broken_policy(tmp_path):
    broken = tmp_path / "policy.toml"
    broken.write_text("[[rules]]\nname = 'all'\n")
    with pytest.raises(SystemExit, match="APPROVAL_POLICY"):
        build_dependencies(approval_settings.load({"APPROVAL_POLICY": str(broken)}))


# EXAMPLE_TOML, the README's example of levels: every request passes its agency's approvers; offshore vendors and
# vendors needing SEED pass the security approvers too. EXAMPLE says the same in JSON.
EXAMPLE = {
    "default_levels": ["agency"],
    "levels": [
        {"name": "agency", "title": "Agency approval", "role": "approver", "same_agency": True, "fallback": "admin"},
        {"name": "security", "title": "Security approval", "role": "security_approver", "fallback": "approver"},
    ],
    "rules": [
        {"name": "Offshore vendors", "user_type": ["vendor"], "offshore": True, "levels": ["agency", "security"]},
        {"name": "Vendors needing SEED", "user_type": ["vendor"], "seed_onboarding": True,
         "levels": ["agency", "security"]},
    ],
}

ROLES = ("approver", "security_approver", "admin", "auditor")


def vendor(**changes):
    return request(**({"method": "create_account", "user_type": "vendor", "email": "vic@vendor.example.com"} | changes))


def with_levels(levels=None, default_levels=("agency",), rules=()):
    """A policy's JSON text: the example's levels unless others are given."""
    policy = {"levels": EXAMPLE["levels"] if levels is None else levels, "rules": list(rules)}
    if default_levels is not None:
        policy["default_levels"] = list(default_levels)
    return json.dumps(policy)


def test_the_readme_example_routes_officers_to_their_agency_and_offshore_or_seed_vendors_to_security_too():
    policy = parse(EXAMPLE_TOML, suffix=".toml", roles=ROLES)
    onshore_officer = policy.route(request())
    assert onshore_officer.names == ("agency",) and onshore_officer.routed_by is None
    assert onshore_officer.approved_by == {}
    offshore = policy.route(vendor(offshore=True))
    assert offshore.names == ("agency", "security") and offshore.routed_by == "Offshore vendors"
    seed = policy.route(vendor(seed_onboarding=True))
    assert seed.names == ("agency", "security") and seed.routed_by == "Vendors needing SEED"
    assert policy.route(vendor()).names == ("agency",)
    agency, security = offshore.levels
    assert (agency.role, agency.fallback, agency.same_agency, agency.label) == ("approver", "admin", True, "Agency approval")
    assert (security.role, security.fallback, security.same_agency) == ("security_approver", "approver", False)
    assert agency.agency_of("Amy@Tech.gov.sg") == "tech.gov.sg" and security.agency_of("amy@tech.gov.sg") is None
    assert policy.roles() == {"approver", "admin", "security_approver"}


def test_toml_and_json_policies_with_levels_say_the_same(tmp_path):
    from_toml = parse(EXAMPLE_TOML, suffix=".toml", roles=ROLES)
    from_json = parse(json.dumps(EXAMPLE), suffix=".json", roles=ROLES)
    assert from_toml == from_json
    file = tmp_path / "policy.json"
    file.write_text(json.dumps(EXAMPLE))
    assert load(str(file), roles=ROLES) == from_toml
    for asked in (request(), vendor(offshore=True), vendor(seed_onboarding=True)):
        assert from_toml.route(asked) == from_json.route(asked)


def test_a_policy_without_levels_routes_every_request_to_the_one_default_level_any_approver_decides():
    for policy in (NO_POLICY, parse(json.dumps(RULES), suffix=".json")):
        route = policy.route(request(seed_onboarding=True))
        assert route.levels == (DEFAULT_LEVEL,) and route.names == ("approval",)
        assert DEFAULT_LEVEL.role == "approver" and DEFAULT_LEVEL.fallback is None
        assert policy.level("approval") is DEFAULT_LEVEL
        assert policy.roles() == {"approver"}
    # a rule of a policy without levels approves the one level
    assert parse(json.dumps(RULES), suffix=".json").route(request()).approved_by == {"approval": "Own agency officers"}


def test_an_auto_approval_rule_naming_levels_approves_only_those_and_one_naming_none_approves_every_level():
    only_agency = parse(with_levels(default_levels=["agency", "security"], rules=[
        {"name": "Own agency officers", "invitee_in_requester_domain": True, "approves": ["agency"]},
    ]), suffix=".json")
    route = only_agency.route(request())
    assert route.names == ("agency", "security")
    assert route.approved_by == {"agency": "Own agency officers"}
    assert [level.name for level in route.open_levels()] == ["security"] and not route.fully_approved
    assert only_agency.route(request(email="ken@hdb.gov.sg")).approved_by == {}

    every_level = parse(with_levels(default_levels=["agency", "security"], rules=[
        {"name": "Own agency officers", "invitee_in_requester_domain": True},
    ]), suffix=".json")
    route = every_level.route(request())
    assert route.approved_by == {"agency": "Own agency officers", "security": "Own agency officers"}
    assert route.open_levels() == () and route.fully_approved


def test_an_auto_approval_rule_approves_no_level_the_request_does_not_pass():
    policy = parse(with_levels(rules=[
        {"name": "Own agency officers", "invitee_in_requester_domain": True, "approves": ["security"]},
    ]), suffix=".json")
    route = policy.route(request())
    assert route.names == ("agency",) and route.approved_by == {} and not route.fully_approved


LEVEL = {"name": "agency", "role": "approver", "fallback": "admin"}


@pytest.mark.parametrize("text,problem", [
    (with_levels([{"name": "agency", "fallback": "admin"}]), "level 'agency' names no role"),
    (with_levels([{"name": "agency", "role": "approver"}]), "level 'agency' names no fallback"),
    (with_levels([{"name": "agency", "role": "approver", "fallback": "approver"}]),
     "level 'agency' falls back to its own role 'approver'"),
    (with_levels([{"name": "agency", "role": "aprover", "fallback": "admin"}]),
     "level 'agency' names the role 'aprover', which is not a role"),
    (with_levels([{"name": "agency", "role": "approver", "fallback": "boss"}]),
     "level 'agency' names the fallback 'boss', which is not a role"),
    (with_levels([LEVEL], rules=[{"name": "Offshore", "offshore": True, "levels": ["agency", "security"]}]),
     "rule 'Offshore' names the level 'security', which the policy does not declare"),
    (with_levels([LEVEL], rules=[{"name": "Own agency", "invitee_in_requester_domain": True, "approves": ["securty"]}]),
     "rule 'Own agency' names the level 'securty', which the policy does not declare"),
    (with_levels([LEVEL], default_levels=["agency", "security"]),
     "default_levels names the level 'security', which the policy does not declare"),
    (with_levels([LEVEL], default_levels=None), "declares levels but no default_levels"),
    (with_levels(rules=[{"name": "Offshore", "offshore": True, "levels": ["agency", "security", "agency"]}]),
     "rule 'Offshore' names a level twice"),
    (with_levels(default_levels=["agency", "agency"]), "default_levels names a level twice"),
    (with_levels(rules=[{"name": "Offshore", "offshore": True, "levels": ["agency"], "approves": ["agency"]}]),
     "rule 'Offshore' both routes (levels) and approves (approves)"),
    (with_levels([LEVEL, LEVEL | {"title": "Again"}]), "two levels are named 'agency'"),
    (with_levels([LEVEL | {"name": "Agency Review"}], default_levels=["Agency Review"]),
     "levels[0].name: a level's name is lower-case letters"),
    (with_levels([LEVEL | {"same_agency": "sometimes"}]), "levels[0].same_agency: Not a valid boolean"),
    (with_levels([LEVEL | {"colour": "blue"}]), "levels[0].colour: Unknown field"),
    (json.dumps({"rules": [{"name": "Offshore", "offshore": True, "levels": ["agency"]}]}),
     "rule 'Offshore' names levels, but the policy declares none"),
])
def test_every_refusal_of_a_policy_with_levels_is_one_line_naming_the_problem(text, problem):
    with pytest.raises(PolicyError) as refused:
        parse(text, suffix=".json", roles=ROLES)
    assert "\n" not in str(refused.value)
    assert problem in str(refused.value)


def test_a_schema_error_deep_in_a_toml_policy_is_still_one_line():
    text = EXAMPLE_TOML + '\n[[levels]]\nname = "legal"\nrole = "approver"\nfallback = "admin"\nsame_agency = "maybe"\n'
    with pytest.raises(PolicyError) as refused:
        parse(text, suffix=".toml", roles=ROLES)
    assert "\n" not in str(refused.value) and "levels[2].same_agency" in str(refused.value)
    with pytest.raises(PolicyError) as refused:
        parse('[[levels]]\nname = "agency"\nrole =\n', suffix=".toml")
    assert "\n" not in str(refused.value) and "not valid TOML" in str(refused.value)


def test_without_the_roles_a_level_may_name_any_role():
    # approval does not know intake's roles: it accepts any, and intake (which passes them) refuses
    text = with_levels([{"name": "agency", "role": "aprover", "fallback": "admin"}])
    assert parse(text, suffix=".json").level("agency").role == "aprover"


@pytest.mark.parametrize("text", [
    '{"default_levels": ["agency", "security"]}',
    '{"levels": [], "default_levels": ["agency"]}',
])
def test_default_levels_naming_levels_the_policy_does_not_declare_are_refused_even_when_it_declares_none(text):
    with pytest.raises(PolicyError) as refused:
        parse(text, suffix=".json", roles=ROLES)
    assert "\n" not in str(refused.value) and "default_levels" in str(refused.value)

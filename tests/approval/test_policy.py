"""Auto-approval rules read from a TOML or JSON file: what they match, and files that are refused."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from approval.bootstrap import build_dependencies
from invite_common.approval_policy import NO_POLICY, PolicyError, load, parse
from approval import settings as approval_settings


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

"""Roles: ROLE_GRANTS as the whole list, the provider's roles claim added to the table's grants, the
`python -m intake roles` command, and every change recorded in the history auditors read."""
import json

from intake import settings as intake_settings
import os
import subprocess
import sys

import pytest

from intake.auth import roles
from intake.db import database
from intake.models import HistoryEntry, RoleGrant

ORG = ("gov.sg",)


def table() -> set[tuple[str, str]]:
    return {(g.role, g.email) for g in RoleGrant.select()}


def role_history() -> list[tuple[str, str, str, str]]:
    entries = HistoryEntry.select().where(HistoryEntry.request_id == roles.ROLE_HISTORY_KEY).order_by(HistoryEntry.id)
    return [(e.event, json.loads(e.details)["role"], json.loads(e.details)["email"], e.actor) for e in entries]


def test_role_grants_is_the_whole_list_granting_and_revoking_at_start(intake_db, tmp_path):
    with database.atomic():
        first = roles.apply_role_grants("approver:bob@tech.gov.sg, auditor:Carol@Tech.gov.sg")
        roles.grant("approver", "dana@tech.gov.sg", "ada@tech.gov.sg")
    assert first.granted == (("approver", "bob@tech.gov.sg"), ("auditor", "carol@tech.gov.sg"))
    with database.atomic():
        second = roles.apply_role_grants("approver:bob@tech.gov.sg,admin:ada@tech.gov.sg")
    assert table() == {("approver", "bob@tech.gov.sg"), ("admin", "ada@tech.gov.sg")}
    assert second.granted == (("admin", "ada@tech.gov.sg"),)
    assert second.revoked == (("approver", "dana@tech.gov.sg"), ("auditor", "carol@tech.gov.sg"))
    assert role_history() == [
        ("role_granted", "approver", "bob@tech.gov.sg", "ROLE_GRANTS"),
        ("role_granted", "auditor", "carol@tech.gov.sg", "ROLE_GRANTS"),
        ("role_granted", "approver", "dana@tech.gov.sg", "ada@tech.gov.sg"),
        ("role_granted", "admin", "ada@tech.gov.sg", "ROLE_GRANTS"),
        ("role_revoked", "approver", "dana@tech.gov.sg", "ROLE_GRANTS"),
        ("role_revoked", "auditor", "carol@tech.gov.sg", "ROLE_GRANTS"),
    ]
    assert _chained_and_intact(tmp_path)


def _chained_and_intact(tmp_path) -> bool:
    """Link the history as the running service would, then verify it."""
    from intake.audit import chain, keys
    from intake.audit.verify import verify

    settings = intake_settings.load({"INVITES_VAR_DIR": str(tmp_path / "var")})
    signer = keys.load_signer(settings)
    chain.link_pending(signer)
    chain.sign_head(signer)
    return verify(keys.verify_keys(settings)).intact


def test_applying_the_same_role_grants_again_changes_nothing_and_unset_leaves_the_table_alone(intake_db):
    with database.atomic():
        roles.apply_role_grants("approver:bob@tech.gov.sg")
        again = roles.apply_role_grants("approver:bob@tech.gov.sg")
        unset = roles.apply_role_grants("")
    assert again == roles.GrantChanges() and unset == roles.GrantChanges()
    assert table() == {("approver", "bob@tech.gov.sg")} and len(role_history()) == 1


def test_granting_twice_or_revoking_what_is_not_held_records_nothing(intake_db):
    with database.atomic():
        assert roles.grant("Auditor", "carol@tech.gov.sg", "ada@tech.gov.sg") is True
        assert roles.grant("auditor", "carol@tech.gov.sg", "ada@tech.gov.sg") is False
        assert roles.revoke("approver", "carol@tech.gov.sg", "ada@tech.gov.sg") is False
        assert roles.revoke("auditor", "carol@tech.gov.sg", "ada@tech.gov.sg") is True
    assert [e[0] for e in role_history()] == ["role_granted", "role_revoked"]
    with pytest.raises(roles.GrantError):
        roles.grant("requester", "carol@tech.gov.sg", "ada@tech.gov.sg")


@pytest.mark.parametrize("claims, claim, found", [
    ({"roles": ["approver", "Auditor", "superuser", "requester"]}, "roles", {"approver", "auditor"}),
    ({"roles": "approver admin"}, "roles", {"approver", "admin"}),
    ({"realm_access": {"roles": ["auditor", "offline_access"]}}, "realm_access.roles", {"auditor"}),
    ({"groups": ["approver"]}, "roles", set()),
    ({"roles": {"approver": True}}, "roles", set()),
    ({"roles": ["approver"]}, "", set()),
])
def test_the_roles_claim_gives_only_grantable_roles(claims, claim, found):
    assert roles.claim_roles(claims, claim) == found


def test_roles_add_up_and_a_role_the_provider_asserts_survives_a_revocation_here(intake_db):
    with database.atomic():
        roles.grant("auditor", "bob@tech.gov.sg", "ada@tech.gov.sg")
    assert roles.roles_for("bob@tech.gov.sg", ORG, {"approver"}) == {"requester", "approver", "auditor"}
    with database.atomic():
        roles.revoke("auditor", "bob@tech.gov.sg", "ada@tech.gov.sg")
    assert roles.roles_for("bob@tech.gov.sg", ORG, {"approver"}) == {"requester", "approver"}
    assert roles.roles_for("eve@example.com", ORG, {"auditor"}) == {"auditor"}


def test_only_a_public_officer_is_an_approver_whatever_a_grant_or_the_providers_claim_says(intake_db):
    with database.atomic():
        RoleGrant.create(role="approver", email="val@vendor.example.com")  # granted before grants were checked
    assert roles.roles_for("val@vendor.example.com", ORG) == frozenset()
    assert roles.roles_for("vic@vendor.example.com", ORG, {"approver", "auditor"}) == {"auditor"}
    assert roles.roles_for("eve@gov.sg.evil.com", ORG, {"approver"}) == frozenset()
    assert roles.roles_for("eve@tech.gov.sg", ORG, {"approver"}) == {"requester", "approver"}


def test_approver_cannot_be_granted_to_an_address_outside_the_organisation_at_start(intake_db, tmp_path):
    from invite_common.config import ConfigError
    from intake.auth import settings as auth_settings

    outside = intake_settings.load({"ROLE_GRANTS": "approver:bob@tech.gov.sg,approver:vic@vendor.example.com"})
    with pytest.raises(ConfigError) as refused:
        auth_settings.check(outside)
    assert "ROLE_GRANTS entry approver:vic@vendor.example.com" in str(refused.value)
    assert "only public officers can be approvers, and vic@vendor.example.com is not an address ending in gov.sg" in str(
        refused.value)
    auth_settings.check(intake_settings.load({"ROLE_GRANTS": "approver:bob@tech.gov.sg,auditor:vic@vendor.example.com"}))


def test_only_the_auditor_role_may_be_held_outside_the_organisation(intake_db):
    assert [r for r in roles.GRANTABLE if roles.may_hold(r, "vic@vendor.example.com", ORG)] == ["auditor"]
    assert all(roles.may_hold(r, "eve@tech.gov.sg", ORG) for r in roles.GRANTABLE)
    with database.atomic():
        RoleGrant.create(role="admin", email="val@vendor.example.com")  # granted before grants were checked
    assert roles.roles_for("val@vendor.example.com", ORG) == frozenset()
    with pytest.raises(roles.GrantError, match="only public officers can be administrators"):
        roles.check_may_hold("admin", "val@vendor.example.com", ORG)


def run_roles(db_url, *args):
    env = dict(os.environ, INTAKE_DB_URL=db_url, LOG_LEVEL="WARNING", ENV="development", ROLE_GRANTS="")
    return subprocess.run([sys.executable, "-m", "intake", "roles", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_the_roles_command_grants_lists_and_revokes_with_the_operator_recorded(db_url, intake_db):
    granted = run_roles(db_url, "grant", "approver", "Bob@Tech.gov.sg", "--operator", "ada@tech.gov.sg")
    assert granted.returncode == 0 and granted.stdout.strip() == "granted approver to bob@tech.gov.sg"
    listed = run_roles(db_url, "list")
    [line] = listed.stdout.splitlines()
    assert line.split("\t")[:3] == ["bob@tech.gov.sg", "approver", "ada@tech.gov.sg"]
    revoked = run_roles(db_url, "revoke", "approver", "bob@tech.gov.sg", "--operator", "ada@tech.gov.sg")
    assert revoked.returncode == 0 and "revoked approver from bob@tech.gov.sg" in revoked.stdout
    refused = run_roles(db_url, "grant", "owner", "bob@tech.gov.sg", "--operator", "ada@tech.gov.sg")
    assert refused.returncode == 2 and "'owner' is not a role that can be granted" in refused.stderr
    outside = run_roles(db_url, "grant", "approver", "vic@vendor.example.com", "--operator", "ada@tech.gov.sg")
    assert outside.returncode == 2, outside.stdout
    assert outside.stderr.strip() == ("cannot grant: only public officers can be approvers, and vic@vendor.example.com "
                                      "is not an address ending in gov.sg")
    database.connect(reuse_if_open=True)
    assert table() == set()
    assert role_history() == [("role_granted", "approver", "bob@tech.gov.sg", "ada@tech.gov.sg"),
                              ("role_revoked", "approver", "bob@tech.gov.sg", "ada@tech.gov.sg")]

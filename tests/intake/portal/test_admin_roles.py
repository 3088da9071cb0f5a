"""The administrators' Roles page: only admins open it; a grant shows who the person is first and is
refused outside the organisation but for auditors; a revocation is confirmed; what ROLE_GRANTS sets back
at start is not offered; every change is recorded with the administrator's name."""
import datetime as dt
import json

import pytest

from intake import settings as intake_settings
from intake.app import create_app
from intake.auth.roles import ROLE_HISTORY_KEY
from intake.db import database
from intake.models import HistoryEntry, InviteRequest, RoleGrant
from tests.support.portal_html import banner, field_error, headings, text
from tests.support.callers import signed_in


@pytest.fixture
def managed_ada(portal_app):
    """The administrator ada@tech.gov.sg on a service whose ROLE_GRANTS sets bob, dana and carol's roles,
    where an operator has since granted eve a role the next start takes away."""
    RoleGrant.create(email="ada@tech.gov.sg", role="admin", granted_by="amy@tech.gov.sg")
    RoleGrant.create(email="eve@tech.gov.sg", role="auditor", granted_by="ops@tech.gov.sg")
    return signed_in(portal_app.test_client(), "ada@tech.gov.sg")


@pytest.fixture
def ada(intake_db, outbox, tmp_path):
    """The administrator ada@tech.gov.sg on a service whose roles are managed on this page (ROLE_GRANTS empty)."""
    with database.atomic():
        for role, email in (("approver", "bob@tech.gov.sg"), ("approver", "dana@tech.gov.sg"),
                            ("auditor", "carol@tech.gov.sg"), ("admin", "ada@tech.gov.sg")):
            RoleGrant.create(role=role, email=email, granted_by="zoe@tech.gov.sg")
    app = create_app(intake_settings.load({"ROLE_GRANTS": "", "INVITES_VAR_DIR": str(tmp_path / "var")}), outbox)
    app.config["WTF_CSRF_ENABLED"] = False
    return signed_in(app.test_client(), "ada@tech.gov.sg")


def invited(email: str, first: str, last: str, organisation: str) -> None:
    """A request made earlier for this person, which is how intake knows their name."""
    InviteRequest.create(id=f"req-{email}", method="email", email=email, user_type="public_officer",
                         first_name=first, last_name=last, organisation=organisation, reason="work",
                         requester="amy@tech.gov.sg", state="completed",
                         created_at=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc))


def confirmed(client, path: str, **data):
    """Post a form the way its confirmation page posts it back."""
    return client.post(path, data={**data, "confirmed": "yes"}, follow_redirects=True)


def recorded() -> list[tuple[str, str, str]]:
    entries = HistoryEntry.select().where(HistoryEntry.request_id == ROLE_HISTORY_KEY).order_by(HistoryEntry.id)
    return [(e.event, e.note, e.actor) for e in entries]


def test_only_administrators_open_the_roles_page_or_post_to_it(amy_session, portal_app):
    assert amy_session.get("/admin/roles").status_code == 403
    for data in ({"email": "amy@tech.gov.sg", "role": "admin"}, {"email": "amy@tech.gov.sg", "role": "admin", "confirmed": "yes"}):
        assert amy_session.post("/admin/roles", data=data).status_code == 403
    for data in ({"email": "bob@tech.gov.sg", "role": "approver"}, {"email": "bob@tech.gov.sg", "role": "approver", "confirmed": "yes"}):
        assert amy_session.post("/admin/roles/revoke", data=data).status_code == 403
    assert RoleGrant.get_or_none(email="amy@tech.gov.sg") is None and recorded() == []
    assert 'href="/admin/roles"' not in amy_session.get("/").text
    assert portal_app.test_client().get("/admin/roles").headers["Location"] == "/sign-in?next=/admin/roles"


def test_an_administrator_sees_every_grant_and_the_roles_link(ada):
    page = ada.get("/admin/roles")
    assert page.status_code == 200 and headings(page.text) == ["Roles"]
    assert "Grant a role" in text(page.text)
    for email in ("bob@tech.gov.sg", "carol@tech.gov.sg", "dana@tech.gov.sg", "ada@tech.gov.sg"):
        assert email in page.text
    assert 'href="/admin/roles" aria-current="page"' in page.text
    assert "ROLE_GRANTS" not in page.text
    # every grant can be revoked but the administrator's own, which another administrator must revoke
    assert text(page.text).count("Revoke ") == 3 and "Revoke administrator from ada@tech.gov.sg" not in text(page.text)
    assert "Your own role" in text(page.text)


def test_a_grant_shows_who_the_person_is_and_changes_nothing_until_confirmed(ada):
    invited("eve@tech.gov.sg", "Eve", "Tan", "GovTech")
    check = ada.post("/admin/roles", data={"email": "Eve@Tech.gov.sg", "role": "approver"})
    assert check.status_code == 200 and headings(check.text)[0] == "Grant the approver role to Eve Tan?"
    shown = text(check.text)
    assert "Name Eve Tan" in shown and "Organisation GovTech" in shown and "never seen" not in shown
    assert 'name="confirmed" value="yes"' in check.text and 'name="csrf_token"' in check.text
    assert RoleGrant.get_or_none(email="eve@tech.gov.sg") is None and recorded() == []
    granted = confirmed(ada, "/admin/roles", email="eve@tech.gov.sg", role="approver")
    assert banner(granted.text) == "eve@tech.gov.sg is now an approver."


def test_a_grant_to_someone_never_seen_asks_grant_anyway(ada):
    check = ada.post("/admin/roles", data={"email": "evee@tech.gov.sg", "role": "auditor"})
    assert check.status_code == 200 and headings(check.text) == ["Grant anyway?"]
    assert "Check before granting" in text(check.text)
    assert "We have never seen this person" in text(check.text) and "Known to Invite Users Not at all" in text(check.text)
    assert RoleGrant.get_or_none(email="evee@tech.gov.sg") is None


def test_a_person_known_from_a_role_or_the_history_is_not_a_stranger(ada):
    confirmed(ada, "/admin/roles", email="fay@tech.gov.sg", role="auditor")
    confirmed(ada, "/admin/roles/revoke", email="fay@tech.gov.sg", role="auditor")
    again = text(ada.post("/admin/roles", data={"email": "fay@tech.gov.sg", "role": "auditor"}).text)
    assert "never seen" not in again and "Held a role before" in again
    bob = text(ada.post("/admin/roles", data={"email": "bob@tech.gov.sg", "role": "admin"}).text)
    assert "never seen" not in bob and "Holds a role" in bob


def test_granting_and_revoking_a_role_is_recorded_with_the_administrators_name(ada):
    granted = confirmed(ada, "/admin/roles", email="Eve@Tech.gov.sg", role="auditor")
    assert banner(granted.text) == "eve@tech.gov.sg is now an auditor."
    assert RoleGrant.get(email="eve@tech.gov.sg").granted_by == "ada@tech.gov.sg"
    revoked = confirmed(ada, "/admin/roles/revoke", email="eve@tech.gov.sg", role="auditor")
    assert banner(revoked.text) == "eve@tech.gov.sg is no longer an auditor."
    assert RoleGrant.get_or_none(email="eve@tech.gov.sg") is None
    assert recorded() == [("role_granted", "auditor eve@tech.gov.sg", "ada@tech.gov.sg"),
                          ("role_revoked", "auditor eve@tech.gov.sg", "ada@tech.gov.sg")]
    [entry] = HistoryEntry.select().where(HistoryEntry.event == "role_granted")
    assert json.loads(entry.details) == {"role": "auditor", "email": "eve@tech.gov.sg"}


def test_revoke_asks_are_you_sure_naming_the_person_and_the_role_first(ada):
    invited("bob@tech.gov.sg", "Bob", "Lim", "GovTech")
    check = ada.post("/admin/roles/revoke", data={"email": "bob@tech.gov.sg", "role": "approver"})
    assert check.status_code == 200
    assert headings(check.text)[0] == "Are you sure you want to revoke the approver role from Bob Lim?"
    assert "bob@tech.gov.sg" in text(check.text) and 'name="csrf_token"' in check.text
    assert "Yes, revoke the role" in text(check.text)
    assert RoleGrant.get_or_none(email="bob@tech.gov.sg", role="approver") is not None and recorded() == []


def test_revoking_a_grant_already_gone_says_so_without_asking(ada):
    page = ada.post("/admin/roles/revoke", data={"email": "nobody@tech.gov.sg", "role": "auditor"}, follow_redirects=True)
    assert banner(page.text) == "That grant had already been revoked." and recorded() == []


def test_a_revoked_role_stops_working_on_the_next_request(ada, intake_db):
    bob = signed_in(ada.application.test_client(), "bob@tech.gov.sg")
    RoleGrant.create(email="bob@tech.gov.sg", role="admin")
    assert bob.get("/admin/roles").status_code == 200
    confirmed(ada, "/admin/roles/revoke", email="bob@tech.gov.sg", role="admin")
    assert bob.get("/admin/roles").status_code == 403


def test_the_grant_form_names_what_is_wrong(ada):
    page = ada.post("/admin/roles", data={"email": "eve@", "role": "owner"})
    assert page.status_code == 422
    assert "after the @" in field_error(page.text, "email")
    assert field_error(page.text, "role") == "Error: Choose the role to grant."
    assert recorded() == []


@pytest.mark.parametrize("role, holders", [("approver", "approvers"), ("admin", "administrators")])
def test_only_a_public_officer_can_be_granted_approver_or_administrator_even_when_confirmed(ada, role, holders):
    for data in ({"email": "Vic@Vendor.example.com", "role": role}, {"email": "vic@vendor.example.com", "role": role, "confirmed": "yes"}):
        page = ada.post("/admin/roles", data=data)
        assert page.status_code == 422
        assert field_error(page.text, "email") == (f"Error: Only public officers can be {holders}, and vic@vendor.example.com "
                                                   "is not an address ending in gov.sg.")
    assert RoleGrant.get_or_none(email="vic@vendor.example.com") is None and recorded() == []


def test_an_external_auditor_is_granted_only_after_a_warning_is_confirmed(ada):
    check = ada.post("/admin/roles", data={"email": "vic@vendor.example.com", "role": "auditor"})
    assert check.status_code == 200
    assert "vic@vendor.example.com is not a public officer's address" in text(check.text)
    assert RoleGrant.get_or_none(email="vic@vendor.example.com") is None
    auditor = confirmed(ada, "/admin/roles", email="vic@vendor.example.com", role="auditor")
    assert banner(auditor.text) == "vic@vendor.example.com is now an auditor."


def test_an_administrator_cannot_revoke_their_own_admin_role(ada):
    page = confirmed(ada, "/admin/roles/revoke", email="ada@tech.gov.sg", role="admin")
    assert "cannot revoke your own administrator role" in banner(page.text)
    assert RoleGrant.get_or_none(email="ada@tech.gov.sg", role="admin") is not None


def test_with_role_grants_set_the_page_offers_no_change_a_restart_would_undo(managed_ada):
    page = managed_ada.get("/admin/roles")
    shown = text(page.text)
    assert "set back to its ROLE_GRANTS setting" in shown and "change ROLE_GRANTS" in shown
    assert "Grant a role" not in shown and 'action="/admin/roles"' not in page.text
    # bob, dana and carol come from the setting: marked, without a Revoke; eve's grant does not, and goes at restart
    assert shown.count("Set by ROLE_GRANTS") == 3 and shown.count("Removed at restart") == 2
    assert shown.count("Revoke ") == 1 and "Revoke auditor from eve@tech.gov.sg" in shown


def test_with_role_grants_set_grants_and_revoking_its_grants_are_refused_on_the_server(managed_ada):
    grant = confirmed(managed_ada, "/admin/roles", email="fay@tech.gov.sg", role="auditor")
    assert "change ROLE_GRANTS and restart" in banner(grant.text)
    revoke = confirmed(managed_ada, "/admin/roles/revoke", email="bob@tech.gov.sg", role="approver")
    assert "remove the grant from ROLE_GRANTS" in banner(revoke.text)
    assert RoleGrant.get_or_none(email="fay@tech.gov.sg") is None
    assert RoleGrant.get_or_none(email="bob@tech.gov.sg", role="approver") is not None and recorded() == []


def test_someone_with_an_account_in_the_directory_is_not_a_stranger(intake_db, outbox, tmp_path, scim):
    scim.add_user({"userName": "gus", "emails": [{"value": "gus@tech.gov.sg"}]})
    RoleGrant.create(role="admin", email="ada@tech.gov.sg")
    app = create_app(intake_settings.load({"ROLE_GRANTS": "", "INVITES_VAR_DIR": str(tmp_path / "var"),
                                           "DIRECTORY_URL": scim.url, "DIRECTORY_TOKEN": scim.token}), outbox)
    app.config["WTF_CSRF_ENABLED"] = False
    ada = signed_in(app.test_client(), "ada@tech.gov.sg")
    known = text(ada.post("/admin/roles", data={"email": "gus@tech.gov.sg", "role": "auditor"}).text)
    assert "Has an account in the directory" in known and "never seen" not in known
    stranger = text(ada.post("/admin/roles", data={"email": "gusx@tech.gov.sg", "role": "auditor"}).text)
    assert "We have never seen this person: no request, history, role or directory account has this address" in stranger

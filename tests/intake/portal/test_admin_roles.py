"""The administrators' Roles page: only admins open it; grants and revocations are recorded with their name."""
import json

import pytest

from intake.auth.roles import ROLE_HISTORY_KEY
from intake.models import HistoryEntry, RoleGrant
from tests.support.portal_html import banner, field_error, headings, text
from tests.support.callers import signed_in


@pytest.fixture
def ada(portal_app):
    """A client signed in as the administrator ada@tech.gov.sg."""
    RoleGrant.create(email="ada@tech.gov.sg", role="admin", granted_by="ROLE_GRANTS")
    return signed_in(portal_app.test_client(), "ada@tech.gov.sg")


def recorded() -> list[tuple[str, str, str]]:
    entries = HistoryEntry.select().where(HistoryEntry.request_id == ROLE_HISTORY_KEY).order_by(HistoryEntry.id)
    return [(e.event, e.note, e.actor) for e in entries]


def test_only_administrators_open_the_roles_page_or_post_to_it(amy_session, portal_app):
    assert amy_session.get("/admin/roles").status_code == 403
    assert amy_session.post("/admin/roles", data={"email": "amy@tech.gov.sg", "role": "admin"}).status_code == 403
    assert amy_session.post("/admin/roles/revoke", data={"email": "bob@tech.gov.sg", "role": "approver"}).status_code == 403
    assert RoleGrant.get_or_none(email="amy@tech.gov.sg") is None and recorded() == []
    assert 'href="/admin/roles"' not in amy_session.get("/").text
    assert portal_app.test_client().get("/admin/roles").headers["Location"] == "/sign-in?next=/admin/roles"


def test_an_administrator_sees_every_grant_and_the_roles_link(ada):
    page = ada.get("/admin/roles")
    assert page.status_code == 200 and headings(page.text) == ["Roles"]
    for email in ("bob@tech.gov.sg", "carol@tech.gov.sg", "dana@tech.gov.sg", "ada@tech.gov.sg"):
        assert email in page.text
    assert 'href="/admin/roles" aria-current="page"' in page.text
    assert "set by the service's configuration (ROLE_GRANTS)" in text(page.text)


def test_granting_and_revoking_a_role_is_recorded_with_the_administrators_name(ada):
    granted = ada.post("/admin/roles", data={"email": "Eve@Tech.gov.sg", "role": "auditor"}, follow_redirects=True)
    assert banner(granted.text) == "eve@tech.gov.sg is now an auditor."
    assert RoleGrant.get(email="eve@tech.gov.sg").granted_by == "ada@tech.gov.sg"
    revoked = ada.post("/admin/roles/revoke", data={"email": "eve@tech.gov.sg", "role": "auditor"}, follow_redirects=True)
    assert banner(revoked.text) == "eve@tech.gov.sg is no longer an auditor."
    assert RoleGrant.get_or_none(email="eve@tech.gov.sg") is None
    assert recorded() == [("role_granted", "auditor eve@tech.gov.sg", "ada@tech.gov.sg"),
                          ("role_revoked", "auditor eve@tech.gov.sg", "ada@tech.gov.sg")]
    [entry] = HistoryEntry.select().where(HistoryEntry.event == "role_granted")
    assert json.loads(entry.details) == {"role": "auditor", "email": "eve@tech.gov.sg"}


def test_a_revoked_role_stops_working_on_the_next_request(ada, portal_app):
    bob = signed_in(portal_app.test_client(), "bob@tech.gov.sg")
    RoleGrant.create(email="bob@tech.gov.sg", role="admin")
    assert bob.get("/admin/roles").status_code == 200
    ada.post("/admin/roles/revoke", data={"email": "bob@tech.gov.sg", "role": "admin"})
    assert bob.get("/admin/roles").status_code == 403


def test_the_grant_form_names_what_is_wrong(ada):
    page = ada.post("/admin/roles", data={"email": "eve@", "role": "owner"})
    assert page.status_code == 422
    assert "after the @" in field_error(page.text, "email")
    assert field_error(page.text, "role") == "Error: Choose the role to grant."
    assert recorded() == []


def test_approver_cannot_be_granted_to_an_address_outside_the_organisation(ada):
    page = ada.post("/admin/roles", data={"email": "Vic@Vendor.example.com", "role": "approver"})
    assert page.status_code == 422
    assert field_error(page.text, "email") == ("Error: Only public officers can be approvers, and vic@vendor.example.com "
                                               "is not an address ending in gov.sg.")
    assert RoleGrant.get_or_none(email="vic@vendor.example.com") is None and recorded() == []
    auditor = ada.post("/admin/roles", data={"email": "vic@vendor.example.com", "role": "auditor"}, follow_redirects=True)
    assert banner(auditor.text) == "vic@vendor.example.com is now an auditor."


def test_an_administrator_cannot_revoke_their_own_admin_role(ada):
    page = ada.post("/admin/roles/revoke", data={"email": "ada@tech.gov.sg", "role": "admin"}, follow_redirects=True)
    assert "cannot revoke your own administrator role" in banner(page.text)
    assert RoleGrant.get_or_none(email="ada@tech.gov.sg", role="admin") is not None

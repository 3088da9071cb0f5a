"""The Roles page's people search (GET /admin/people?q=): administrators only; at least two characters;
from the directory (a real scim2-server) when one is configured, else from the requesters, invitees and
role holders intake has seen, matching the start of an email or a name whatever its case, with `%` and
`_` taken as letters; at most ten people; nothing typed is logged."""
import datetime as dt
import logging

import pytest

from intake import settings as intake_settings
from intake.app import create_app
from intake.db import database
from intake.models import InviteRequest, RoleGrant
from tests.support.callers import signed_in

# PostgreSQL's LIKE is case-sensitive (peewee asks ILIKE there) and both must read the ESCAPE clause
LIKE_DIFFERS = "case-insensitive LIKE and its escapes are spelled differently by SQLite and PostgreSQL"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def requested(email: str, first: str = "", last: str = "", organisation: str = "", *, requester="amy@tech.gov.sg",
              day: int = 5, erased: bool = False) -> None:
    """A request made for this person: how intake knows their name and organisation."""
    InviteRequest.create(id=f"req-{email}-{day}", method="email", email=email, user_type="public_officer",
                         first_name=first, last_name=last, organisation=organisation, reason="work",
                         requester=requester, state="completed",
                         created_at=dt.datetime(2026, 1, day, tzinfo=dt.timezone.utc),
                         erased_at=dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc) if erased else None)


def app_with(tmp_path, outbox, **settings):
    app = create_app(intake_settings.load({"ROLE_GRANTS": "", "INVITES_VAR_DIR": str(tmp_path / "var"), **settings}),
                     outbox)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def ada_searching(intake_db, outbox, tmp_path):
    """The administrator ada@tech.gov.sg on an intake without a directory."""
    RoleGrant.create(role="admin", email="ada@tech.gov.sg", granted_by="zoe@tech.gov.sg")
    return signed_in(app_with(tmp_path, outbox).test_client(), "ada@tech.gov.sg")


@pytest.fixture
def ada_with_directory(intake_db, outbox, tmp_path, scim):
    """The administrator ada@tech.gov.sg on an intake that asks the SCIM directory."""
    RoleGrant.create(role="admin", email="ada@tech.gov.sg", granted_by="zoe@tech.gov.sg")
    app = app_with(tmp_path, outbox, DIRECTORY_URL=scim.url, DIRECTORY_TOKEN=scim.token,
                   DIRECTORY_LOOKUP_TIMEOUT="0.5")
    return signed_in(app.test_client(), "ada@tech.gov.sg")


def in_directory(scim, username, email, given, family, organisation=""):
    user = {"userName": username, "emails": [{"value": email, "primary": True}],
            "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"}}
    if organisation:
        user["schemas"] = ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]
        user[ENTERPRISE] = {"organization": organisation}
    scim.add_user(user)


def search(client, q):
    response = client.get("/admin/people", query_string={"q": q})
    assert response.status_code == 200, response.text
    return response.get_json()


def emails(found):
    return [p["email"] for p in found["people"]]


def test_only_administrators_may_search_people(amy_session, intake_db):
    requested("bea.tan@tech.gov.sg", "Bea", "Tan", "GovTech")
    refused = amy_session.get("/admin/people?q=bea")
    assert refused.status_code == 403 and "bea.tan" not in refused.text


def test_a_search_needs_two_characters_and_names_q(ada_searching):
    for query in ("", "?q=", "?q=b", "?q=%20b%20"):
        response = ada_searching.get(f"/admin/people{query}")
        assert response.status_code == 422, query
        assert list(response.get_json()["errors"]) == ["q"]
    assert ada_searching.get("/admin/people?q=" + "b" * 255).status_code == 422


def test_a_search_refuses_a_field_it_does_not_know(ada_searching):
    response = ada_searching.get("/admin/people?q=bea&limit=500")
    assert response.status_code == 422 and response.get_json()["errors"] == {"limit": ["Unknown field."]}


@pytest.mark.both_databases(LIKE_DIFFERS)
def test_seen_people_are_found_by_the_start_of_an_email_or_a_name_whatever_its_case(ada_searching):
    requested("bea.tan@tech.gov.sg", "Bea", "Tan", "GovTech")
    requested("ben.lim@tech.gov.sg", "Ben", "Lim", "CPF Board")
    requested("kim.tang@tech.gov.sg", "Kim", "Tang", "MOH")
    assert search(ada_searching, "BE")["source"] == "seen"
    assert emails(search(ada_searching, "BE")) == ["bea.tan@tech.gov.sg", "ben.lim@tech.gov.sg"]
    assert emails(search(ada_searching, "tan")) == ["bea.tan@tech.gov.sg", "kim.tang@tech.gov.sg"]  # the last names
    assert emails(search(ada_searching, "bea t")) == ["bea.tan@tech.gov.sg"]  # the full name
    assert search(ada_searching, "ben")["people"] == [{"email": "ben.lim@tech.gov.sg", "name": "Ben Lim",
                                             "organisation": "CPF Board"}]
    assert search(ada_searching, "ea")["people"] == []  # the start, not the middle


@pytest.mark.both_databases(LIKE_DIFFERS)
def test_requesters_and_role_holders_are_found_named_by_their_latest_request(ada_searching):
    requested("sam@tech.gov.sg", requester="rita.ong@tech.gov.sg")
    RoleGrant.create(role="auditor", email="rick@tech.gov.sg", granted_by="ada@tech.gov.sg")
    requested("rick@tech.gov.sg", "Rick", "Old", "Old Org", day=3)
    requested("rick@tech.gov.sg", "Rick", "Ng", "GovTech", day=9)
    assert search(ada_searching, "ri")["people"] == [
        {"email": "rick@tech.gov.sg", "name": "Rick Ng", "organisation": "GovTech"},
        {"email": "rita.ong@tech.gov.sg", "name": "", "organisation": ""},
    ]


def test_an_erased_request_names_no_one(ada_searching):
    requested("eli@tech.gov.sg", "Eli", "Koh", "GovTech", erased=True)
    assert search(ada_searching, "eli")["people"] == [] and search(ada_searching, "koh")["people"] == []


@pytest.mark.both_databases(LIKE_DIFFERS)
@pytest.mark.parametrize("typed", ["a%", "a_", "a\\"])
def test_like_wildcards_typed_are_letters(ada_searching, typed):
    requested("alan@tech.gov.sg", "Alan", "Goh")
    requested("a%b@tech.gov.sg")
    requested("a_b@tech.gov.sg")
    requested("a\\b@tech.gov.sg")
    assert emails(search(ada_searching, typed)) == [f"{typed}b@tech.gov.sg"]


def test_at_most_ten_people_are_found(ada_searching):
    with database.atomic():
        for n in range(15):
            requested(f"pat.{n:02}@tech.gov.sg", "Pat", f"Number{n}")
    assert emails(search(ada_searching, "pat")) == [f"pat.{n:02}@tech.gov.sg" for n in range(10)]


def test_with_a_directory_people_are_found_there_with_its_names_and_organisations(ada_with_directory, scim):
    requested("bea.seen@tech.gov.sg", "Bea", "Seen", "Intake only")  # not in the directory: not offered
    in_directory(scim, "btan", "bea.tan@tech.gov.sg", "Bea", "Tan", "GovTech")
    in_directory(scim, "klim", "kim.lim@tech.gov.sg", "Kim", "Lim", "MOH")
    in_directory(scim, "jtang", "jo.tang@tech.gov.sg", "Jo", "Tang")
    found = search(ada_with_directory, "Tan")
    assert found["source"] == "directory"
    assert found["people"] == [{"email": "bea.tan@tech.gov.sg", "name": "Bea Tan", "organisation": "GovTech"},
                               {"email": "jo.tang@tech.gov.sg", "name": "Jo Tang", "organisation": ""}]
    assert emails(search(ada_with_directory, "KL")) == ["kim.lim@tech.gov.sg"]  # the username
    assert emails(search(ada_with_directory, "kim.")) == ["kim.lim@tech.gov.sg"]  # the email
    assert emails(search(ada_with_directory, "be")) == ["bea.tan@tech.gov.sg"]  # the given name
    assert emails(search(ada_with_directory, 'b"e')) == []  # a quote is part of the value, not the filter's end


def test_a_directory_that_cannot_answer_leaves_the_people_seen(ada_with_directory, scim, caplog):
    requested("bea.seen@tech.gov.sg", "Bea", "Seen", "GovTech")
    scim.answer_busy(1, 503)
    with caplog.at_level(logging.INFO):
        found = search(ada_with_directory, "bea.s")
    assert found["source"] == "seen" and emails(found) == ["bea.seen@tech.gov.sg"]
    assert "directory search skipped" in caplog.text
    assert "bea" not in caplog.text.lower()  # neither what was typed nor who was found


def test_a_person_found_in_the_directory_shows_its_name_and_organisation_before_the_grant(ada_with_directory, scim):
    from tests.support.portal_html import headings, text

    requested("bea.tan@tech.gov.sg", "B.", "Tan", "Typed by a requester")
    in_directory(scim, "btan", "bea.tan@tech.gov.sg", "Bea", "Tan", "GovTech")
    check = ada_with_directory.post("/admin/roles", data={"email": "bea.tan@tech.gov.sg", "role": "approver"})
    assert headings(check.text)[0] == "Grant the approver role to Bea Tan?"
    shown = text(check.text)
    assert "Name Bea Tan" in shown and "Organisation GovTech" in shown and "has an account in the directory" in shown


def test_searching_counts_against_the_people_search_limit(intake_db, outbox, tmp_path):
    RoleGrant.create(role="admin", email="ada@tech.gov.sg", granted_by="zoe@tech.gov.sg")
    ada_searching = signed_in(app_with(tmp_path, outbox, RATE_LIMIT_PEOPLE_SEARCH="3/minute").test_client(), "ada@tech.gov.sg")
    assert [ada_searching.get("/admin/people?q=be").status_code for _ in range(3)] == [200, 200, 200]
    refused = ada_searching.get("/admin/people?q=be")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_the_email_field_is_a_plain_email_field_that_a_script_of_the_portals_may_enhance(ada_searching):
    page = ada_searching.get("/admin/roles").text
    field = next(tag for tag in page.split("<input") if 'id="email"' in tag)
    assert 'type="email"' in field and 'data-people-search="/admin/people"' in field and "role=" not in field
    assert '<script src="/static/js/people-picker.js" defer></script>' in page and "<script>" not in page

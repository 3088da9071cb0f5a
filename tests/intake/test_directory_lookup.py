"""One person, one account, for accounts made outside this system: intake asks the SCIM directory
(a real scim2-server on a loopback port) at submit, for single requests and every batch row, and
accepts the request when the directory cannot answer (provisioning looks again before creating)."""
import io
import logging
import time

import pytest

from intake import settings as intake_settings
from intake.app import create_app
from intake.invites.directory import EMAILS_PER_QUERY
from intake.invites import rules
from intake.models import InviteRequest
from tests.support.callers import as_user, signed_in
from tests.support.spreadsheets import OFFICER_ROW, csv_bytes

OFFICER = {"method": "email_invitation", "email": "jo.lee@tech.gov.sg", "seed_onboarding": False, "reason": "New joiner"}


@pytest.fixture
def directory_client(intake_db, outbox, tmp_path, scim):
    settings = intake_settings.load({"INVITES_VAR_DIR": str(tmp_path / "var"), "DIRECTORY_URL": scim.url,
                            "DIRECTORY_TOKEN": scim.token, "DIRECTORY_LOOKUP_TIMEOUT": "0.5"})
    return create_app(settings, outbox).test_client()


@pytest.fixture
def amy_with_directory(directory_client):
    """The requester amy@tech.gov.sg, calling the API of the intake that asks the directory."""
    return as_user(directory_client, "amy@tech.gov.sg")


def made_elsewhere(scim, email, username="jlee"):
    """An account another client of the directory made (not through this system)."""
    scim.add_user({"userName": username, "emails": [{"value": email}]})


def upload(user, rows):
    return user("POST", "/api/v1/batches", data={"file": (io.BytesIO(csv_bytes(rows)), "b.csv")},
                content_type="multipart/form-data")


def searches(scim):
    return sum(1 for method, path in scim.requests if method == "GET" and path.endswith("/Users"))


def test_an_account_made_outside_this_system_is_refused_at_submit(amy_with_directory, scim):
    made_elsewhere(scim, "Jo.Lee@tech.gov.sg")
    refused = amy_with_directory("POST", "/api/v1/invites", json=OFFICER)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["errors"] == {"email": [rules.HAS_ACCOUNT]}
    assert "existing_id" not in body  # no request of ours made it
    assert InviteRequest.select().count() == 0
    assert amy_with_directory("POST", "/api/v1/invites", json=OFFICER | {"email": "new@tech.gov.sg"}).status_code == 201


def test_inviting_yourself_is_still_the_answer_when_you_hold_an_account(amy_with_directory, scim):
    made_elsewhere(scim, "amy@tech.gov.sg", "amy")
    response = amy_with_directory("POST", "/api/v1/invites", json=OFFICER | {"email": "amy@tech.gov.sg"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"email": [rules.SELF_INVITATION]}


def test_a_repeated_submission_gets_its_first_answer_even_once_the_account_exists(amy_with_directory, scim):
    headers = {"Idempotency-Key": "k-1"}
    first = amy_with_directory("POST", "/api/v1/invites", json=OFFICER, headers=headers)
    assert first.status_code == 201
    made_elsewhere(scim, OFFICER["email"])  # the account this request asked for, made by provisioning
    again = amy_with_directory("POST", "/api/v1/invites", json=OFFICER, headers=headers)
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    assert InviteRequest.select().count() == 1


def test_batch_rows_are_checked_against_the_directory_in_few_searches(amy_with_directory, scim):
    made_elsewhere(scim, "held.17@tech.gov.sg")
    made_elsewhere(scim, "HELD.41@tech.gov.sg", "held41")
    rows = [OFFICER_ROW | {"email": f"held.{n}@tech.gov.sg"} for n in range(45)]
    before = searches(scim)
    draft = upload(amy_with_directory, rows).get_json()
    flagged = {r["row"]: r["errors"]["email"] for r in draft["rows"] if r["errors"]}
    assert flagged == {19: [rules.HAS_ACCOUNT], 43: [rules.HAS_ACCOUNT]}  # file rows: the heading is row 1
    assert searches(scim) - before == -(-45 // EMAILS_PER_QUERY)


def test_a_batch_row_edited_to_a_directory_account_is_flagged(amy_with_directory, scim):
    made_elsewhere(scim, "held@tech.gov.sg")
    draft = upload(amy_with_directory, [OFFICER_ROW | {"email": "free@tech.gov.sg"}]).get_json()
    edited = amy_with_directory("PATCH", f"/api/v1/batches/{draft['id']}/rows/2", json={"email": "held@tech.gov.sg"})
    assert edited.status_code == 200
    assert edited.get_json()["errors"]["email"] == [rules.HAS_ACCOUNT]


def test_a_batch_is_checked_again_at_submit_for_accounts_made_since_the_upload(amy_with_directory, scim):
    draft = upload(amy_with_directory, [OFFICER_ROW | {"email": e} for e in ("a@tech.gov.sg", "b@tech.gov.sg")]).get_json()
    assert not any(r["errors"] for r in draft["rows"])
    made_elsewhere(scim, "b@tech.gov.sg")
    refused = amy_with_directory("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert refused.status_code == 422
    [row] = refused.get_json()["rows"]
    assert row["row"] == 3 and row["errors"]["email"] == [rules.HAS_ACCOUNT]
    assert InviteRequest.select().count() == 0  # all or none


def test_the_directory_is_asked_for_the_person_a_tagged_address_reaches(amy_with_directory, scim):
    made_elsewhere(scim, "jo.lee@tech.gov.sg")
    made_elsewhere(scim, "kay+lab@tech.gov.sg", "kay")
    for email in ("jo.lee+x@tech.gov.sg", "kay+lab@tech.gov.sg"):
        refused = amy_with_directory("POST", "/api/v1/invites", json=OFFICER | {"email": email})
        assert refused.status_code == 409 and refused.get_json()["errors"] == {"email": [rules.HAS_ACCOUNT]}, email
    draft = upload(amy_with_directory, [OFFICER_ROW | {"email": e} for e in ("jo.lee+y@tech.gov.sg", "b+1@tech.gov.sg")]).get_json()
    assert [r["errors"].get("email") for r in draft["rows"]] == [[rules.HAS_ACCOUNT], None]
    amy_with_directory("DELETE", f"/api/v1/batches/{draft['id']}/rows/2")
    made_elsewhere(scim, "b@tech.gov.sg", "b")
    refused = amy_with_directory("POST", f"/api/v1/batches/{draft['id']}/submit")
    assert refused.status_code == 422
    assert [(r["row"], r["errors"]["email"]) for r in refused.get_json()["rows"]] == [(3, [rules.HAS_ACCOUNT])]


def test_a_directory_that_cannot_answer_delays_no_request(amy_with_directory, scim, caplog):
    made_elsewhere(scim, OFFICER["email"])
    scim.answer_busy(1, 503)
    with caplog.at_level(logging.WARNING, logger="intake.invites.directory"):
        assert amy_with_directory("POST", "/api/v1/invites", json=OFFICER).status_code == 201
    assert "provisioning will check" in caplog.text
    assert OFFICER["email"] not in caplog.text  # no personal data in the log

    scim.answer_slowly(2.0)  # longer than DIRECTORY_LOOKUP_TIMEOUT
    started = time.monotonic()
    assert amy_with_directory("POST", "/api/v1/invites", json=OFFICER | {"email": "slow@tech.gov.sg"}).status_code == 201
    assert time.monotonic() - started < 1.9
    scim.answer_slowly(0)

    scim.stop()
    assert amy_with_directory("POST", "/api/v1/invites", json=OFFICER | {"email": "down@tech.gov.sg"}).status_code == 201


def test_the_invite_form_says_beside_the_email_that_the_person_already_has_an_account(directory_client, scim):
    from tests.support.portal_html import field_error

    directory_client.application.config["WTF_CSRF_ENABLED"] = False
    made_elsewhere(scim, OFFICER["email"])
    amy = signed_in(directory_client, "amy@tech.gov.sg")
    page = amy.post("/invite/email", data={"email": OFFICER["email"], "seed_onboarding": "no", "reason": "New joiner"})
    assert page.status_code == 422
    assert rules.HAS_ACCOUNT in field_error(page.text, "email")
    assert "View the open request" not in page.text
    assert InviteRequest.select().count() == 0

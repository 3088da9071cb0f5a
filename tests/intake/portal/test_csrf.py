"""Every portal form carries a CSRF token; the JSON API, authenticated by header, needs none."""
import re

import pytest

from intake.models import InviteRequest
from tests.support.callers import as_user

FORM = {"email": "jane@tech.gov.sg", "seed_onboarding": "no", "reason": "New joiner", "confirmed": "yes"}


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_forms_are_refused_without_their_token_and_accepted_with_it(csrf_app):
    client = csrf_app.test_client()
    sign_in_page = client.get("/sign-in").text
    assert client.post("/sign-in", data={"email": "amy@tech.gov.sg"}).status_code == 400
    client.post("/sign-in", data={"email": "amy@tech.gov.sg", "csrf_token": token(sign_in_page)})

    refused = client.post("/invite/email", data=FORM)
    assert refused.status_code == 400 and "Your form could not be sent" in refused.text
    assert client.post("/invite/email", data=FORM | {"csrf_token": "forged"}).status_code == 400
    assert InviteRequest.select().count() == 0

    form_token = token(client.get("/invite/email").text)
    accepted = client.post("/invite/email", data=FORM | {"csrf_token": form_token})
    assert accepted.status_code == 302 and InviteRequest.select().count() == 1


def test_sign_out_needs_the_token_too(csrf_app):
    client = csrf_app.test_client()
    client.post("/sign-in", data={"email": "amy@tech.gov.sg", "csrf_token": token(client.get("/sign-in").text)})
    assert client.post("/sign-out").status_code == 400
    assert client.get("/").status_code == 200


def test_the_json_api_needs_no_csrf_token(csrf_app):
    amy = as_user(csrf_app.test_client(), "amy@tech.gov.sg")
    body = {"method": "email_invitation", "email": "jane@tech.gov.sg", "seed_onboarding": False, "reason": "x"}
    invite = amy("POST", "/api/v1/invites", json=body)
    assert invite.status_code == 201
    assert amy("POST", f"/api/v1/invites/{invite.get_json()['id']}/cancel").status_code == 202

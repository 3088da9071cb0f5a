"""A refused contact number is told what is wrong with it in the same words by the API, the portal's
form and a batch upload's row: the words of the one rule (validation/rules.py normalise_phone)."""
import pytest

from tests.support.portal_html import field_error
from tests.support.callers import signed_in
from tests.support.spreadsheets import OFFICER_ROW, csv_bytes, upload

OFFICER = {"method": "create_account", "email": "jane.tan@tech.gov.sg", "user_type": "public_officer",
           "first_name": "Jane", "last_name": "Tan", "organisation": "GovTech", "seed_onboarding": False,
           "reason": "Joining the team"}
CASES = [
    ("99432920", "9943 2920 is not a Singapore number in use: check the digits."),
    ("9943 292", "A Singapore number has 8 digits; you entered 7."),
    ("2943 2920", "A Singapore number starts with 3, 6, 8 or 9; this one starts with 2."),
]


@pytest.mark.parametrize(("typed", "message"), CASES)
def test_the_api_a_form_and_a_batch_row_say_the_same_about_a_number(app, amy, typed, message):
    api = amy("POST", "/api/v1/invites", json=OFFICER | {"contact_number": typed})
    assert api.status_code == 422 and api.get_json()["errors"] == {"contact_number": [message]}

    app.config["WTF_CSRF_ENABLED"] = False
    portal = signed_in(app.test_client(), "amy@tech.gov.sg")
    form = {k: v for k, v in OFFICER.items() if k != "method"} | {"seed_onboarding": "no", "contact_number": typed}
    page = portal.post("/invite/account", data=form)
    assert page.status_code == 422 and message in field_error(page.text, "contact_number")

    draft = upload(amy, csv_bytes([OFFICER_ROW | {"contact_number": typed}]))
    assert draft.status_code == 201
    assert draft.get_json()["rows"][0]["errors"] == {"contact_number": [message]}

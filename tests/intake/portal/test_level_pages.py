"""Approval levels shown: who will decide on the check page and each batch row (page and API), the level a
request waits in on the approver's queue (page and API) and the requester's status page, and each level's
decision, fallback and reassignment in the auditors' timeline and the requester's history."""
import datetime as dt
import io
import re

import pytest

from invite_common.approval_policy import parse
from invite_common.messages import new_message
from intake.auth import roles
from intake.auth.identity import Caller
from intake.db import database
from intake.history import consumer
from intake.invites import service
from intake.models import InviteRequest, RoleGrant
from tests.support.callers import as_user, signed_in
from tests.support.policies import LEVELS, OFFSHORE_VENDORS
from tests.support.portal_html import text

pytestmark = pytest.mark.both_databases("the pages read the levels a request waits in from the database")

# a known partner's security level is approved by the policy, never its agency level
KNOWN_PARTNERS = """
[[rules]]
name = "Known partners"
invitee_domains = ["partner.example.com"]
approves = ["security"]
"""
TWO_LEVELS = LEVELS + OFFSHORE_VENDORS + KNOWN_PARTNERS
VENDOR_FORM = {
    "email": "vic@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim", "first_name": "Vic",
    "last_name": "Lim", "contact_number": "9123 4567", "organisation": "Example Pte Ltd", "department": "",
    "offshore": "yes", "seed_onboarding": "yes", "reason": "Contractor",
}
VENDOR = {"method": "create_account", "email": "vic@vendor.example.com", "user_type": "vendor", "username": "v-vic.lim",
          "first_name": "Vic", "last_name": "Lim", "contact_number": "+6591234567", "organisation": "Example Pte Ltd",
          "offshore": True, "seed_onboarding": True, "reason": "Contractor"}
OFFICER_FORM = {"email": "jane@tech.gov.sg", "seed_onboarding": "no", "reason": "New joiner"}
HEADINGS = "email,user_type,username,first_name,last_name,contact_number,organisation,department,seed_onboarding,offshore,reason"
OFFSHORE_ROW = "vic@vendor.example.com,vendor,v-vic.lim,Vic,Lim,91234567,Example Pte Ltd,,yes,yes,Contractor"
OFFICER_ROW = "tan@tech.gov.sg,Public officer,,Tan,Ah Kow,91234568,GovTech,,no,,New joiner"


@pytest.fixture
def levels_app(portal_app):
    """The portal with the two-level policy: an agency level (approvers of the requester's agency, falling back to
    administrators) and a security level (security approvers) for offshore vendors."""
    portal_app.config["APPROVAL_POLICY"] = parse(TWO_LEVELS, suffix=".toml", roles=roles.DECIDING)
    return portal_app


@pytest.fixture
def levels_amy(levels_app):
    return signed_in(levels_app.test_client(), "amy@tech.gov.sg")


@pytest.fixture
def levels_amy_api(levels_app):
    return as_user(levels_app.test_client(), "amy@tech.gov.sg")


def grant(role, *emails):
    with database.atomic():
        for email in emails:
            RoleGrant.create(role=role, email=email)


def who_will_decide(page):
    """The check page's "Who will decide" rows: (level, who)."""
    block = re.search(r'data-check-section="deciders".*?</dl>', page, re.S).group(0)
    return [(text(key), text(value)) for key, value in re.findall(
        r'<dt class="summary-list__key">(.*?)</dt>\s*<dd class="summary-list__value">(.*?)</dd>', block, re.S)]


def moved(invite_id, seq, verb, details, actor="bob@tech.gov.sg", to_state="submitted"):
    """Approval's event moving the request, fed to intake's history consumer under the app's policy."""
    return new_message(
        "invite.state_changed",
        {"request_id": invite_id, "seq": seq, "from_state": "submitted", "to_state": to_state, "verb": verb,
         "actor": actor, "note": "", "changed_at": dt.datetime.now(dt.timezone.utc).isoformat(), "details": details},
        correlation_id=invite_id, producer="approval")


def apply(app, env):
    with database.atomic():
        consumer.record_state_change(env, app.config["APPROVAL_POLICY"], app.config["ORG_DOMAINS"])


def offshore_request(api):
    response = api("POST", "/api/v1/invites", json=VENDOR)
    assert response.status_code == 201, response.text
    return response.get_json()["id"]


def test_the_check_page_names_each_level_in_order_and_who_can_decide_it(levels_amy):
    page = levels_amy.post("/invite/account", data=VENDOR_FORM).text
    # the requester is never named; no security approver is in the role table, so any may decide
    assert who_will_decide(page) == [("1. Agency approval", "Any of: bob@tech.gov.sg, dana@tech.gov.sg"),
                                     ("2. Security approval", "Any security approver")]
    grant("security_approver", "sam@tech.gov.sg")
    page = levels_amy.post("/invite/account", data=VENDOR_FORM).text
    assert who_will_decide(page)[1] == ("2. Security approval", "Any of: sam@tech.gov.sg")


def test_the_check_page_names_five_deciders_then_how_many_more(levels_app):
    grant("approver", *(f"ap{n}@tech.gov.sg" for n in range(6)))
    page = signed_in(levels_app.test_client(), "amy@tech.gov.sg").post("/invite/email", data=OFFICER_FORM).text
    [(level, who)] = who_will_decide(page)
    assert level == "Agency approval"
    assert who == "Any of: ap0@tech.gov.sg, ap1@tech.gov.sg, ap2@tech.gov.sg, ap3@tech.gov.sg, ap4@tech.gov.sg and 3 more"


def test_a_level_whose_holders_are_all_outside_the_agency_says_its_fallback_decides(levels_app):
    page = signed_in(levels_app.test_client(), "hui@hq.gov.sg").post("/invite/email", data=OFFICER_FORM).text
    [(level, who)] = who_will_decide(page)
    assert level == "Agency approval"
    assert who.startswith("Any administrator")
    assert ("Every approver in the requester's agency is excluded from this request, so an administrator decides it."
            in who)


def test_a_level_a_rule_approves_names_the_rule(levels_amy):
    page = levels_amy.post("/invite/account", data=VENDOR_FORM | {"email": "pat@partner.example.com"}).text
    assert who_will_decide(page)[1] == ("2. Security approval", "Approved by the policy rule “Known partners”")


def test_without_a_policy_the_check_page_shows_the_one_level_of_approvers(portal_app):
    # bob makes the request: the approvers named are the others
    page = signed_in(portal_app.test_client(), "bob@tech.gov.sg").post("/invite/email", data=OFFICER_FORM).text
    assert who_will_decide(page) == [("Approval", "Any of: dana@tech.gov.sg")]


def upload(client, *lines):
    data = ("\r\n".join((HEADINGS, *lines)) + "\r\n").encode()
    return client.post("/invite/batch", data={"file": (io.BytesIO(data), "people.csv")}, content_type="multipart/form-data")


def test_each_batch_row_shows_its_levels_and_who_decides_them(levels_amy):
    review = levels_amy.get(upload(levels_amy, OFFSHORE_ROW, OFFICER_ROW).headers["Location"]).text
    cells = [text(c) for c in re.findall(r'<td data-label="Approval" class="cell--levels" data-levels>(.*?)</td>', review, re.S)]
    assert cells[0].startswith("Agency approval → Security approval Who decides for row 2")
    assert "Agency approval: Any of: bob@tech.gov.sg, dana@tech.gov.sg" in cells[0]
    assert "Security approval: Any security approver" in cells[0]
    assert cells[1].startswith("Agency approval Who decides for row 3")


def test_the_batch_api_gives_each_row_its_levels(levels_amy_api):
    grant("security_approver", "sam@tech.gov.sg")
    data = ("\r\n".join((HEADINGS, OFFSHORE_ROW, OFFICER_ROW)) + "\r\n").encode()
    draft = levels_amy_api("POST", "/api/v1/batches", data={"file": (io.BytesIO(data), "people.csv")},
                           content_type="multipart/form-data").get_json()
    assert draft["rows"][0]["levels"] == [
        {"name": "agency", "title": "Agency approval", "role": "approver", "names": ["bob@tech.gov.sg", "dana@tech.gov.sg"],
         "fallback": False, "approved_by": None},
        {"name": "security", "title": "Security approval", "role": "security_approver", "names": ["sam@tech.gov.sg"],
         "fallback": False, "approved_by": None}]
    assert [level["name"] for level in draft["rows"][1]["levels"]] == ["agency"]
    changed = levels_amy_api("PATCH", f"/api/v1/batches/{draft['id']}/rows/3", json={"email": "pat@partner.example.com",
                                                                                      "user_type": "vendor", "offshore": "yes",
                                                                                      "username": "v-pat"}).get_json()
    assert changed["levels"][1]["approved_by"] == "Known partners"


def test_the_queue_marks_the_level_each_request_waits_in(levels_app, levels_amy_api):
    invite_id = offshore_request(levels_amy_api)
    bob = signed_in(levels_app.test_client(), "bob@tech.gov.sg")
    assert "Waits in: Agency approval" in text(bob.get("/approvals").text)
    [item] = as_user(levels_app.test_client(), "bob@tech.gov.sg")("GET", "/api/v1/approvals").get_json()["items"]
    assert {k: v for k, v in item["level"].items() if k != "since"} == {
        "name": "agency", "title": "Agency approval", "role": "approver", "reassigned_to": None}
    assert item["level"]["since"]

    grant("security_approver", "sam@tech.gov.sg")
    apply(levels_app, moved(invite_id, 1, "approve_level", {"level": "agency", "next_level": "security"}))
    sam = signed_in(levels_app.test_client(), "sam@tech.gov.sg")
    assert "Waits in: Security approval" in text(sam.get("/approvals").text)
    assert "vic@vendor.example.com" not in bob.get("/approvals").text


def test_the_invite_api_says_the_level_a_request_waits_in_and_none_once_decided(levels_app, levels_amy_api):
    invite_id = offshore_request(levels_amy_api)
    assert levels_amy_api("GET", f"/api/v1/invites/{invite_id}").get_json()["level"]["name"] == "agency"
    apply(levels_app, moved(invite_id, 1, "approve_level", {"level": "agency", "next_level": "security"}))
    level = levels_amy_api("GET", f"/api/v1/invites/{invite_id}").get_json()["level"]
    assert (level["name"], level["title"], level["role"]) == ("security", "Security approval", "security_approver")
    apply(levels_app, moved(invite_id, 2, "approve", {"level": "security"}, actor="sam@tech.gov.sg", to_state="approved"))
    assert levels_amy_api("GET", f"/api/v1/invites/{invite_id}").get_json()["level"] is None
    assert levels_amy_api("GET", "/api/v1/invites").get_json()["items"][0]["level"] is None


def test_the_status_page_says_the_level_it_waits_in_since_when_and_the_levels_passed_and_to_come(
        levels_app, levels_amy, levels_amy_api):
    invite_id = offshore_request(levels_amy_api)
    page = text(levels_amy.get(f"/status/{invite_id}").text)
    assert re.search(r"Approval Waiting for Agency approval since \d+ \w+ \d{4}", page)
    assert "Levels of approval Agency approval: waiting now Security approval: to come" in page

    apply(levels_app, moved(invite_id, 1, "approve_level", {"level": "agency", "next_level": "security",
                                                            "on_behalf_of": "dave@tech.gov.sg"}))
    page = text(levels_amy.get(f"/status/{invite_id}").text)
    assert "Waiting for Security approval since" in page
    assert ("Levels of approval Agency approval: approved by bob@tech.gov.sg for dave@tech.gov.sg "
            "Security approval: waiting now") in page
    # the requester's history says the same
    assert "Agency approval approved by bob@tech.gov.sg for dave@tech.gov.sg" in page


def test_a_policy_changed_after_submission_changes_no_levels_a_request_shows(levels_app, levels_amy, levels_amy_api):
    invite_id = offshore_request(levels_amy_api)
    # the security level is dropped from the offshore vendors' route: approval fixed this request's levels already
    levels_app.config["APPROVAL_POLICY"] = parse(TWO_LEVELS.replace('levels = ["agency", "security"]', 'levels = ["agency"]'),
                                                 suffix=".toml", roles=roles.DECIDING)
    page = text(levels_amy.get(f"/status/{invite_id}").text)
    assert "Levels of approval Agency approval: waiting now Security approval: to come" in page


def test_without_a_policy_the_status_page_says_since_when_it_waits_without_naming_levels(portal_app):
    api = as_user(portal_app.test_client(), "amy@tech.gov.sg")
    invite_id = api("POST", "/api/v1/invites", json={"method": "email_invitation", "email": "jane@tech.gov.sg",
                                                     "seed_onboarding": False, "reason": "New joiner"}).get_json()["id"]
    page = text(signed_in(portal_app.test_client(), "amy@tech.gov.sg").get(f"/status/{invite_id}").text)
    assert "Waiting for an approver’s decision since" in page
    assert "Levels of approval" not in page


def test_the_auditors_timeline_names_each_levels_decision_fallback_and_reassignment(levels_app, levels_amy_api):
    invite_id = offshore_request(levels_amy_api)
    apply(levels_app, moved(invite_id, 1, "approve_level", {"level": "agency", "next_level": "security",
                                                            "on_behalf_of": "dave@tech.gov.sg"}))
    with levels_app.test_request_context():
        service.reassign(invite_id, "sam@tech.gov.sg", "Sam knows this vendor",
                         Caller("ada@tech.gov.sg", frozenset({"requester", "admin"})))
    assert levels_amy_api("GET", f"/api/v1/invites/{invite_id}").get_json()["level"]["reassigned_to"] == "sam@tech.gov.sg"
    apply(levels_app, moved(invite_id, 2, "reject", {"level": "security"}, actor="sam@tech.gov.sg", to_state="rejected"))
    # a request from another agency: its agency level goes to the administrators
    other = as_user(levels_app.test_client(), "hui@hq.gov.sg")("POST", "/api/v1/invites", json=VENDOR | {
        "email": "lee@vendor.example.com", "username": "v-lee"}).get_json()["id"]

    carol = signed_in(levels_app.test_client(), "carol@tech.gov.sg")
    titles = [text(t) for t in re.findall(r'<h3 class="timeline__title">(.*?)</h3>', carol.get(f"/audit/requests/{invite_id}").text)]
    assert titles == ["Request submitted", "Agency approval approved by bob@tech.gov.sg for dave@tech.gov.sg",
                      "Reassigned to sam@tech.gov.sg by ada@tech.gov.sg (Security approval)",
                      "Security approval rejected by sam@tech.gov.sg"]
    page = text(carol.get(f"/audit/requests/{invite_id}").text)
    assert "Next level: Security approval" in page and "Sam knows this vendor" in page
    assert "On behalf of" not in page  # said in the heading, not again as a raw detail

    fallback = text(carol.get(f"/audit/requests/{other}").text)
    assert "Agency approval goes to the administrators" in fallback
    assert "Every approver in the requester's agency (hq.gov.sg) is excluded from deciding this request" in fallback


def test_the_approvers_request_page_names_its_level_and_why_an_approver_may_not_decide_it(levels_app, levels_amy_api):
    invite_id = offshore_request(levels_amy_api)
    grant("security_approver", "sam@tech.gov.sg")
    bob = signed_in(levels_app.test_client(), "bob@tech.gov.sg")
    page = text(bob.get(f"/approvals/{invite_id}").text)
    assert "Waits in Agency approval since" in page and "Your decision" in page

    apply(levels_app, moved(invite_id, 1, "approve_level", {"level": "agency", "next_level": "security"}))
    page = text(bob.get(f"/approvals/{invite_id}").text)
    assert "Waits in Security approval since" in page and "Your decision" not in page
    assert "You decided an earlier level of this request: someone else decides this one." in page
    sam = text(signed_in(levels_app.test_client(), "sam@tech.gov.sg").get(f"/approvals/{invite_id}").text)
    assert "Your decision" in sam


def test_a_batch_row_of_the_queue_names_the_level_its_requests_share_or_says_they_wait_in_several(levels_app, levels_amy_api):
    grant("security_approver", "sam@tech.gov.sg")
    data = ("\r\n".join((HEADINGS, OFFSHORE_ROW, OFFICER_ROW)) + "\r\n").encode()
    draft = levels_amy_api("POST", "/api/v1/batches", data={"file": (io.BytesIO(data), "people.csv")},
                           content_type="multipart/form-data").get_json()
    assert levels_amy_api("POST", f"/api/v1/batches/{draft['id']}/submit").status_code == 201
    bob = signed_in(levels_app.test_client(), "bob@tech.gov.sg")
    assert "Batch of 2 from amy@tech.gov.sg" in text(bob.get("/approvals").text)
    assert "open it to decide its requests Waits in: Agency approval" in text(bob.get("/approvals").text)

    vendor = InviteRequest.get(InviteRequest.email == "vic@vendor.example.com")
    apply(levels_app, moved(vendor.id, 1, "approve_level", {"level": "agency", "next_level": "security"},
                            actor="dana@tech.gov.sg"))
    # someone who decides both levels (and neither of the vendor's before) sees the batch's two requests as one row
    grant("security_approver", "bob@tech.gov.sg")
    assert "open it to decide its requests Waits in: several levels" in text(bob.get("/approvals").text)
